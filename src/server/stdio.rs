//! The stdio transport: newline-delimited JSON-RPC on stdin and stdout, with a framing layer in
//! front of rmcp that answers unparsable lines with a JSON-RPC parse error (-32700).
//!
//! rmcp drops lines that are not JSON, so a client that sent a truncated request would wait
//! forever. JSON-RPC 2.0 asks for a parse error with a null id; this layer sends it, and hands
//! every parsable line to rmcp unchanged (rmcp answers well-formed non-messages itself).
//! Both rmcp's replies and ours go through one writer, a whole line at a time, so they never
//! interleave inside a line.

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader, DuplexStream};
use tokio::sync::mpsc;

/// Capacity of the in-memory pipes between this layer and rmcp.
const PIPE_BYTES: usize = 1 << 20;
/// Parse errors answered in a row before falling silent: a peer that echoes our errors back as
/// garbage must not start an endless exchange.
const MAX_CONSECUTIVE_PARSE_ERRORS: u32 = 64;

/// Connects rmcp to `input`/`output` through the framing layer; returns rmcp's ends.
pub fn framed<R, W>(input: R, output: W) -> (DuplexStream, DuplexStream)
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let (rmcp_in, to_rmcp) = tokio::io::duplex(PIPE_BYTES);
    let (rmcp_out, from_rmcp) = tokio::io::duplex(PIPE_BYTES);
    let (errors_tx, errors_rx) = mpsc::channel::<Vec<u8>>(16);
    tokio::spawn(read_input(input, to_rmcp, errors_tx));
    tokio::spawn(write_output(from_rmcp, errors_rx, output));
    (rmcp_in, rmcp_out)
}

/// Forwards parsable lines to rmcp and turns unparsable ones into parse-error replies. Ends at
/// EOF, which closes rmcp's input and so ends the session.
async fn read_input<R: AsyncRead + Unpin>(
    input: R,
    mut to_rmcp: DuplexStream,
    errors: mpsc::Sender<Vec<u8>>,
) {
    let mut input = BufReader::new(input);
    let mut line = Vec::new();
    let mut consecutive = 0u32;
    loop {
        line.clear();
        match input.read_until(b'\n', &mut line).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::error!("reading stdin: {e}");
                break;
            }
        }
        match classify(&line) {
            Line::Blank => continue,
            Line::Message => {
                consecutive = 0;
                if !line.ends_with(b"\n") {
                    line.push(b'\n');
                }
                if to_rmcp.write_all(&line).await.is_err() {
                    break;
                }
            }
            Line::Unparsable(detail) => {
                consecutive += 1;
                tracing::debug!("unparsable line on stdin: {detail}");
                if consecutive <= MAX_CONSECUTIVE_PARSE_ERRORS
                    && errors.send(parse_error(&detail)).await.is_err()
                {
                    break;
                }
            }
        }
    }
    let _ = to_rmcp.shutdown().await;
}

/// Writes rmcp's lines and our error lines to `output`, one whole line at a time.
async fn write_output<W: AsyncWrite + Unpin>(
    from_rmcp: DuplexStream,
    mut errors: mpsc::Receiver<Vec<u8>>,
    mut output: W,
) {
    let mut from_rmcp = BufReader::new(from_rmcp);
    let mut line = Vec::new();
    let mut errors_open = true;
    loop {
        tokio::select! {
            biased;
            error = errors.recv(), if errors_open => match error {
                Some(reply) => {
                    if write_line(&mut output, &reply).await.is_err() {
                        return;
                    }
                }
                None => errors_open = false,
            },
            read = from_rmcp.read_until(b'\n', &mut line) => match read {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if write_line(&mut output, &line).await.is_err() {
                        return;
                    }
                    line.clear();
                }
            },
        }
    }
    let _ = output.flush().await;
}

async fn write_line<W: AsyncWrite + Unpin>(output: &mut W, line: &[u8]) -> std::io::Result<()> {
    output.write_all(line).await?;
    if !line.ends_with(b"\n") {
        output.write_all(b"\n").await?;
    }
    output.flush().await
}

#[derive(Debug, PartialEq)]
enum Line {
    Blank,
    Message,
    Unparsable(String),
}

fn classify(line: &[u8]) -> Line {
    let text = line
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(line);
    if text.iter().all(u8::is_ascii_whitespace) {
        return Line::Blank;
    }
    match serde_json::from_slice::<serde::de::IgnoredAny>(text) {
        Ok(_) => Line::Message,
        Err(e) => Line::Unparsable(e.to_string()),
    }
}

/// A JSON-RPC 2.0 parse error; its id is null because an unparsable request has none we can read.
fn parse_error(detail: &str) -> Vec<u8> {
    let reply = serde_json::json!({
        "jsonrpc": "2.0",
        "id": null,
        "error": {
            "code": -32700,
            "message": format!("Parse error: the line is not valid JSON ({detail}). Send one JSON-RPC message per line."),
        }
    });
    let mut bytes = serde_json::to_vec(&reply).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[test]
    fn classifies_lines() {
        assert_eq!(classify(b"  \r\n"), Line::Blank);
        assert_eq!(classify(b"{\"jsonrpc\":\"2.0\",\"id\":1}\n"), Line::Message);
        assert_eq!(classify(b"\xEF\xBB\xBF{}\n"), Line::Message);
        assert!(matches!(classify(b"{\"id\": 1, \n"), Line::Unparsable(_)));
        assert!(matches!(classify(b"not json\n"), Line::Unparsable(_)));
    }

    #[tokio::test]
    async fn garbage_gets_a_parse_error_and_messages_pass_through() {
        let (client, server_in) = tokio::io::duplex(4096);
        let (server_out, mut client_out) = tokio::io::duplex(4096);
        let (mut rmcp_in, mut rmcp_out) = framed(server_in, server_out);
        let mut client = client;
        client
            .write_all(b"oops\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n")
            .await
            .unwrap();
        drop(client);
        let mut forwarded = String::new();
        rmcp_in.read_to_string(&mut forwarded).await.unwrap();
        assert_eq!(
            forwarded,
            "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n"
        );
        rmcp_out
            .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n")
            .await
            .unwrap();
        drop(rmcp_out);
        let mut written = String::new();
        client_out.read_to_string(&mut written).await.unwrap();
        let lines: Vec<serde_json::Value> = written
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{written}");
        assert_eq!(lines[0]["error"]["code"], -32700);
        assert!(lines[0]["id"].is_null());
        assert_eq!(lines[1]["result"], serde_json::json!({}));
    }
}
