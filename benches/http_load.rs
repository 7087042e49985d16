//! Closed-loop load generator for the server benchmark's streamable-HTTP levels
//! (benches/server/bench.py): `--sessions` concurrent MCP sessions, each on its own keep-alive
//! HTTP/1.1 connection, initialize → notifications/initialized → `--calls` tools/call in a loop,
//! all stopped after `--cap` seconds. Prints one JSON object per level on stdout: latencies in
//! seconds (request written to whole response body read), error texts, wall time and the
//! client's own CPU seconds.
//!
//! It runs on a single-threaded runtime so that, like the Python client it replaces, it uses at
//! most one core; it exists because that client cost about half as much CPU per call as the
//! server, and the two share the machine's cores, which inflated the measured latency.
//!
//! `--handshake` lets bench.py bracket the measurement with its own reading of the server's CPU
//! time: after every session is initialized the tool prints `{"ready":true}` and waits for a
//! line on stdin; after the result line it waits for another line (or end of input) before it
//! closes the sessions.
//!
//! `cargo bench --bench http_load -- --port PORT [options]`; `--help` lists them.

use std::io::{BufRead, Write as _};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ACCEPT: &str = "application/json, text/event-stream";
const USAGE: &str = "usage: http_load --port PORT [--sessions N] [--calls N] [--cap SECONDS] \
[--tool NAME] [--args JSON] [--stateless] [--protocol-version V] [--handshake]";
/// /proc/self/stat counts CPU time in clock ticks; USER_HZ is 100 on every Linux target.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;
/// The same grace the Python client gives the DELETE that ends a session.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// Past the cap, how long in-flight calls may still take before the level is abandoned.
const DRAIN_GRACE: Duration = Duration::from_secs(30);

struct Options {
    port: u16,
    sessions: usize,
    calls: usize,
    cap: Duration,
    tool: String,
    args: Value,
    stateless: bool,
    protocol_version: String,
    handshake: bool,
}

fn parse_options(argv: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut port = None;
    let mut options = Options {
        port: 0,
        sessions: 1,
        calls: 200,
        cap: Duration::from_secs(40),
        tool: "k8s_list_resources".to_owned(),
        args: json!({"kind": "Pod", "namespace": "shop"}),
        stateless: false,
        protocol_version: "2025-06-18".to_owned(),
        handshake: false,
    };
    let mut argv = argv.peekable();
    while let Some(flag) = argv.next() {
        let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            // cargo bench appends it to the arguments of every bench target.
            "--bench" => {}
            "--handshake" => options.handshake = true,
            "--stateless" => options.stateless = true,
            "--port" => port = Some(number::<u16>(&flag, &value()?)?),
            "--sessions" => options.sessions = number(&flag, &value()?)?,
            "--calls" => options.calls = number(&flag, &value()?)?,
            "--cap" => {
                let seconds: f64 = number(&flag, &value()?)?;
                options.cap = Duration::try_from_secs_f64(seconds)
                    .map_err(|_| "--cap must be a non-negative number of seconds".to_owned())?;
            }
            "--tool" => options.tool = value()?,
            "--args" => {
                let text = value()?;
                options.args = serde_json::from_str(&text)
                    .map_err(|err| format!("--args is not JSON ({err}): {text}"))?;
            }
            "--protocol-version" => options.protocol_version = value()?,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    options.port = port.ok_or("--port is required")?;
    if options.sessions == 0 {
        return Err("--sessions must be at least 1".to_owned());
    }
    Ok(options)
}

fn number<T: std::str::FromStr>(flag: &str, text: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{flag} wants a number, got {text:?}"))
}

/// User plus system CPU seconds this process has used, threads included.
fn own_cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // The command name may hold spaces, so fields are counted after its closing ')': there
    // field 0 is the state, and utime and stime (stat fields 14 and 15) are 11 and 12.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<u64>().ok())
        .sum();
    ticks as f64 / CLOCK_TICKS_PER_SECOND
}

struct Response {
    status: u16,
    content_type: String,
    session_id: Option<String>,
    body: Vec<u8>,
}

/// How the body of a response ends, read from its headers.
enum Framing {
    Length(usize),
    Chunked,
    Empty,
    UntilClose,
}

/// One keep-alive HTTP/1.1 connection to 127.0.0.1; one request in flight at a time.
struct Connection {
    stream: TcpStream,
    buffer: Vec<u8>,
    closed: bool,
    request: Vec<u8>,
}

impl Connection {
    async fn open(port: u16) -> Result<Self, String> {
        let stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|err| format!("connect 127.0.0.1:{port}: {err}"))?;
        stream
            .set_nodelay(true)
            .map_err(|err| format!("TCP_NODELAY: {err}"))?;
        Ok(Self {
            stream,
            buffer: Vec::with_capacity(64 * 1024),
            closed: false,
            request: Vec::new(),
        })
    }

    /// Writes `head` (request line and headers up to Content-Length) and `body`, then reads
    /// the whole response.
    async fn send(&mut self, head: &[u8], body: &[u8]) -> Result<Response, String> {
        if self.closed {
            return Err("connection closed".to_owned());
        }
        self.request.clear();
        self.request.extend_from_slice(head);
        self.request
            .extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        self.request.extend_from_slice(body);
        self.stream
            .write_all(&self.request)
            .await
            .map_err(|err| format!("write: {err}"))?;
        loop {
            if let Some((response, used)) = parse_response(&self.buffer, self.closed)? {
                self.buffer.drain(..used);
                return Ok(response);
            }
            if self.closed {
                return Err(format!(
                    "connection closed after {} bytes of a response",
                    self.buffer.len()
                ));
            }
            let read = self
                .stream
                .read_buf(&mut self.buffer)
                .await
                .map_err(|err| format!("read: {err}"))?;
            self.closed = read == 0;
        }
    }
}

/// `(response, bytes it used)` once `buf` holds a whole response; `None` while it does not.
fn parse_response(buf: &[u8], closed: bool) -> Result<Option<(Response, usize)>, String> {
    let Some(head_end) = find(buf, b"\r\n\r\n", 0) else {
        return Ok(None);
    };
    // Latin-1, as HTTP headers are bytes: every byte maps to the char of the same value.
    let head: String = buf[..head_end].iter().map(|&b| b as char).collect();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .filter(|code| code.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let mut response = Response {
        status,
        content_type: String::new(),
        session_id: None,
        body: Vec::new(),
    };
    let mut framing = if status == 204 || status == 304 || (100..200).contains(&status) {
        Framing::Empty
    } else {
        Framing::UntilClose
    };
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-type" => response.content_type = value.to_owned(),
            "mcp-session-id" => response.session_id = Some(value.to_owned()),
            "transfer-encoding" => chunked |= value.to_ascii_lowercase().contains("chunked"),
            "content-length" => {
                let length = value
                    .parse()
                    .map_err(|_| format!("bad Content-Length {value:?}"))?;
                framing = Framing::Length(length);
            }
            _ => {}
        }
    }
    if chunked {
        framing = Framing::Chunked;
    }
    let start = head_end + 4;
    let end = match framing {
        Framing::Empty => start,
        Framing::Length(length) => {
            if buf.len() < start + length {
                return Ok(None);
            }
            response.body.extend_from_slice(&buf[start..start + length]);
            start + length
        }
        Framing::Chunked => match dechunk(buf, start, &mut response.body)? {
            Some(end) => end,
            None => return Ok(None),
        },
        Framing::UntilClose if closed => {
            response.body.extend_from_slice(&buf[start..]);
            buf.len()
        }
        Framing::UntilClose => return Ok(None),
    };
    Ok(Some((response, end)))
}

/// Appends a chunked body starting at `pos` to `body` and returns its end offset, or `None`
/// while it is incomplete.
fn dechunk(buf: &[u8], mut pos: usize, body: &mut Vec<u8>) -> Result<Option<usize>, String> {
    body.clear();
    loop {
        let Some(line_end) = find(buf, b"\r\n", pos) else {
            return Ok(None);
        };
        let size_field = &buf[pos..line_end];
        let size_field = size_field.split(|&b| b == b';').next().unwrap_or_default();
        let size_text = std::str::from_utf8(size_field).unwrap_or("?").trim();
        let size = if size_text.is_empty() {
            0
        } else {
            usize::from_str_radix(size_text, 16)
                .map_err(|_| format!("bad chunk size {size_text:?}"))?
        };
        pos = line_end + 2;
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let Some(line_end) = find(buf, b"\r\n", pos) else {
                    return Ok(None);
                };
                let empty = line_end == pos;
                pos = line_end + 2;
                if empty {
                    return Ok(Some(pos));
                }
            }
        }
        if buf.len() < pos + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&buf[pos..pos + size]);
        pos += size + 2;
    }
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|at| at + from)
}

fn snippet(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(200)]).into_owned()
}

/// The JSON-RPC reply with `id` from a JSON body or from the SSE events of a stream.
fn jsonrpc_message(response: &Response, id: u64) -> Result<Value, String> {
    if response.status != 200 {
        return Err(format!(
            "HTTP {}: {}",
            response.status,
            snippet(&response.body)
        ));
    }
    if response.content_type.starts_with("text/event-stream") {
        return sse_data(&response.body)
            .iter()
            .filter_map(|data| serde_json::from_str::<Value>(data).ok())
            .find(|msg| msg.get("id").and_then(Value::as_u64) == Some(id))
            .ok_or_else(|| {
                format!(
                    "no reply with id {id} in the event stream: {}",
                    snippet(&response.body)
                )
            });
    }
    match serde_json::from_slice::<Value>(&response.body) {
        Ok(msg) if msg.is_object() => Ok(msg),
        _ => Err(format!(
            "body is not a JSON-RPC message: {}",
            snippet(&response.body)
        )),
    }
}

/// The `data` of each event (multi-line data joined by newlines, as the SSE spec says).
fn sse_data(body: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    let mut events = Vec::new();
    let mut current: Vec<&str> = Vec::new();
    for line in text.lines().chain(std::iter::once("")) {
        if line.is_empty() {
            if !current.is_empty() {
                events.push(current.join("\n"));
            }
            current.clear();
        } else if let Some(value) = line.strip_prefix("data:") {
            current.push(value.strip_prefix(' ').unwrap_or(value));
        }
    }
    events
}

/// Why a tools/call reply does not count as a success, as stats.tool_error words it.
fn tool_error(msg: &Value) -> Option<String> {
    if let Some(error) = msg.get("error") {
        return Some(truncate(format!("JSON-RPC error {error}"), 200));
    }
    let Some(result) = msg.get("result").filter(|r| r.is_object()) else {
        return Some("reply without result".to_owned());
    };
    let failed = match result.get("isError") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => false,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
        Some(Value::Bool(true)) => true,
    };
    failed.then(|| {
        let content = result
            .get("content")
            .map(Value::to_string)
            .unwrap_or("null".to_owned());
        format!("tool error: {}", truncate(content, 200))
    })
}

fn truncate(mut text: String, max_chars: usize) -> String {
    if let Some((at, _)) = text.char_indices().nth(max_chars) {
        text.truncate(at);
    }
    text
}

/// One MCP session on its own connection: initialize, initialized, then tool calls.
struct Session {
    conn: Connection,
    port: u16,
    stateless: bool,
    protocol_version: String,
    session_id: Option<String>,
    next_id: u64,
}

impl Session {
    async fn start(port: u16, stateless: bool, protocol_version: &str) -> Result<Self, String> {
        let mut session = Self {
            conn: Connection::open(port).await?,
            port,
            stateless,
            protocol_version: protocol_version.to_owned(),
            session_id: None,
            next_id: 1,
        };
        if session.stateless {
            return Ok(session);
        }
        let params = json!({
            "protocolVersion": protocol_version,
            "capabilities": {},
            "clientInfo": {"name": "eks-ops-bench-http", "version": "0"},
        });
        let id = session.take_id();
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "initialize", "params": params});
        let response = session
            .conn
            .send(&session.head("POST"), body.to_string().as_bytes())
            .await?;
        session.session_id = response.session_id.clone();
        let reply = jsonrpc_message(&response, id)?;
        if reply.get("result").is_none() {
            return Err(format!("initialize failed: {reply}"));
        }
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        let response = session
            .conn
            .send(&session.head("POST"), note.to_string().as_bytes())
            .await?;
        if response.status != 200 && response.status != 202 {
            return Err(format!(
                "notifications/initialized got HTTP {}",
                response.status
            ));
        }
        Ok(session)
    }

    fn take_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id - 1
    }

    /// The request line and headers up to, not including, Content-Length.
    fn head(&self, method: &str) -> Vec<u8> {
        let mut head = format!(
            "{method} /mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAccept: {ACCEPT}\r\n\
             Content-Type: application/json\r\n",
            self.port
        );
        if let Some(id) = &self.session_id {
            head += &format!(
                "Mcp-Session-Id: {id}\r\nMCP-Protocol-Version: {}\r\n",
                self.protocol_version
            );
        }
        head.into_bytes()
    }

    /// Seconds until the whole response arrived, and why the call failed if it did.
    async fn timed_call(
        &mut self,
        head: &[u8],
        params: &Value,
    ) -> Result<(f64, Option<String>), String> {
        let id = self.take_id();
        let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": params});
        let body = serde_json::to_vec(&body).map_err(|err| err.to_string())?;
        let started = Instant::now();
        let response = self.conn.send(head, &body).await?;
        let elapsed = started.elapsed().as_secs_f64();
        let error = match jsonrpc_message(&response, id) {
            Ok(msg) => tool_error(&msg),
            Err(err) => Some(err),
        };
        Ok((elapsed, error))
    }

    async fn close(mut self) {
        if self.session_id.is_some() {
            let head = self.head("DELETE");
            let _ = tokio::time::timeout(CLOSE_TIMEOUT, self.conn.send(&head, b"")).await;
        }
    }
}

#[derive(Default)]
struct LevelResult {
    latencies: Vec<f64>,
    errors: Vec<String>,
    wall_s: f64,
    client_cpu_s: f64,
    capped: bool,
}

async fn start_sessions(options: &Options) -> Result<Vec<Session>, String> {
    let starts = (0..options.sessions)
        .map(|_| Session::start(options.port, options.stateless, &options.protocol_version));
    match tokio::time::timeout(options.cap, futures::future::join_all(starts)).await {
        Ok(started) => started.into_iter().collect(),
        Err(_) => Err(format!(
            "sessions not started within {:.0} s",
            options.cap.as_secs_f64()
        )),
    }
}

/// Every session calls the tool `calls` times in a loop; none starts a call past the cap.
async fn measure(
    options: &Options,
    sessions: &mut [Session],
    result: &mut LevelResult,
) -> Result<(), String> {
    let params = json!({"name": options.tool, "arguments": options.args});
    let started = Instant::now();
    let deadline = started + options.cap;
    let cpu_before = own_cpu_seconds();
    let loops = sessions.iter_mut().map(|session| {
        let params = &params;
        async move {
            let head = session.head("POST");
            let mut latencies = Vec::with_capacity(options.calls);
            let mut errors = Vec::new();
            for _ in 0..options.calls {
                if Instant::now() > deadline {
                    break;
                }
                match session.timed_call(&head, params).await {
                    Ok((elapsed, None)) => latencies.push(elapsed),
                    Ok((_, Some(error))) => errors.push(error),
                    Err(err) => return Err(err),
                }
            }
            Ok((latencies, errors))
        }
    });
    let outcomes =
        tokio::time::timeout(options.cap + DRAIN_GRACE, futures::future::join_all(loops))
            .await
            .map_err(|_| {
                format!(
                    "calls still running {:.0} s past the cap",
                    DRAIN_GRACE.as_secs_f64()
                )
            })?;
    result.wall_s = started.elapsed().as_secs_f64();
    result.client_cpu_s = own_cpu_seconds() - cpu_before;
    for outcome in outcomes {
        let (latencies, errors) = outcome?;
        result.latencies.extend(latencies);
        result.errors.extend(errors);
    }
    result.capped = result.latencies.len() + result.errors.len() < options.sessions * options.calls;
    Ok(())
}

/// Blocks until stdin has a line or ends; the runtime is idle meanwhile.
fn wait_for_line() {
    let _ = std::io::stdin().lock().read_line(&mut String::new());
}

fn print_line(value: &Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{value}");
    let _ = out.flush();
}

fn run(options: &Options) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|err| format!("tokio runtime: {err}"))?;
    let mut result = LevelResult::default();
    let mut sessions = match runtime.block_on(start_sessions(options)) {
        Ok(sessions) => sessions,
        Err(err) => {
            result
                .errors
                .push(truncate(format!("level aborted: {err}"), 300));
            if options.handshake {
                print_line(&json!({"ready": false}));
            }
            print_result(options, &result);
            return Ok(());
        }
    };
    if options.handshake {
        print_line(&json!({"ready": true}));
        wait_for_line();
    }
    if let Err(err) = runtime.block_on(measure(options, &mut sessions, &mut result)) {
        result
            .errors
            .push(truncate(format!("level aborted: {err}"), 300));
    }
    print_result(options, &result);
    if options.handshake {
        wait_for_line();
    }
    runtime.block_on(futures::future::join_all(
        sessions.into_iter().map(Session::close),
    ));
    Ok(())
}

fn print_result(options: &Options, result: &LevelResult) {
    print_line(&json!({
        "sessions": options.sessions,
        "planned": options.sessions * options.calls,
        "latencies": result.latencies,
        "errors": result.errors,
        "wall_s": result.wall_s,
        "client_cpu_s": result.client_cpu_s,
        "capped": result.capped,
    }));
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(why) if why.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(why) => {
            eprintln!("http_load: {why}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // A level whose calls failed still printed its result, errors included: that is a success.
    match run(&options) {
        Ok(_) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("http_load: {why}");
            ExitCode::FAILURE
        }
    }
}
