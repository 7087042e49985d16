"""Streamable-HTTP load: concurrent MCP sessions calling one tool, over raw HTTP/1.1 keep-alive.

The client is a few lines of asyncio on plain sockets rather than an HTTP library, so its own
cost per call stays small next to the server's; it still shares the machine's cores with the
server, which is why the report carries both processes' CPU time. Latency is taken when the
whole response body has arrived, before it is parsed and checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from dataclasses import dataclass

import procs
from stats import LevelResult, tool_error
from stdio_probe import initialize_params

ACCEPT = "application/json, text/event-stream"


def event_loop_name() -> str:
    """Installs uvloop when the harness has it (run.sh puts it in the harness venv) and names
    the loop the measurements use: the client's cost per call is part of every latency."""
    try:
        import uvloop
    except ImportError:
        return "asyncio default loop"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return f"uvloop {uvloop.__version__}"


class HttpError(Exception):
    """A response the client cannot use (status, framing, or JSON-RPC error)."""


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection to 127.0.0.1; one request in flight at a time.

    A protocol rather than a stream reader: each arriving segment is appended to a buffer and
    the response is parsed once it is complete, instead of one coroutine hop per header line
    and chunk. The client shares the cores with the server, so its cost per call shows up in
    the server's latency.
    """

    def __init__(self, port: int):
        self.port = port
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future | None = None
        self.closed = False

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, "127.0.0.1", self.port)
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._try_complete()

    def connection_lost(self, exc) -> None:
        self.closed = True
        self._try_complete()

    def head(self, method: str, headers: dict[str, str]) -> bytes:
        """The request line and headers up to, not including, Content-Length."""
        lines = [f"{method} /mcp HTTP/1.1", f"Host: 127.0.0.1:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n").encode()

    async def send(self, method: str, body: bytes, headers: dict[str, str]) -> Response:
        return await self.send_with_head(self.head(method, headers), body)

    async def send_with_head(self, head: bytes, body: bytes) -> Response:
        if self.closed:
            raise HttpError("connection closed")
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(b"%sContent-Length: %d\r\n\r\n%s" % (head, len(body), body))
        return await self.waiter

    def _try_complete(self) -> None:
        if self.waiter is None or self.waiter.done():
            return
        try:
            parsed = parse_response(self.buffer, self.closed)
        except HttpError as err:
            self.waiter.set_exception(err)
            return
        if parsed is not None:
            response, used = parsed
            del self.buffer[:used]
            self.waiter.set_result(response)
        elif self.closed:
            self.waiter.set_exception(asyncio.IncompleteReadError(bytes(self.buffer), None))

    async def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


def parse_response(buf: bytearray, closed: bool) -> tuple[Response, int] | None:
    """(response, bytes it used) once `buf` holds a whole response; None while it does not."""
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return None
    status_line, *header_lines = buf[:head_end].decode("latin-1").split("\r\n")
    parts = status_line.split()
    if len(parts) < 2 or not parts[1].isdigit():
        raise HttpError(f"bad status line {status_line!r}")
    status = int(parts[1])
    headers = {}
    for line in header_lines:
        key, sep, value = line.partition(":")
        if sep:
            headers[key.strip().lower()] = value.strip()
    start = head_end + 4
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = _chunked(buf, start)
        if body is None:
            return None
        return Response(status, headers, body[0]), body[1]
    if "content-length" in headers:
        end = start + int(headers["content-length"])
        return (Response(status, headers, bytes(buf[start:end])), end) if len(buf) >= end else None
    if status in (204, 304) or 100 <= status < 200:
        return Response(status, headers, b""), start
    # Delimited by close.
    return (Response(status, headers, bytes(buf[start:])), len(buf)) if closed else None


def _chunked(buf: bytearray, pos: int) -> tuple[bytes, int] | None:
    """(body, end offset) of a complete chunked body starting at `pos`; None if incomplete."""
    parts = []
    while True:
        line_end = buf.find(b"\r\n", pos)
        if line_end < 0:
            return None
        size = int(bytes(buf[pos:line_end]).split(b";")[0].strip() or b"0", 16)
        pos = line_end + 2
        if size == 0:
            while True:  # trailers, up to the empty line
                line_end = buf.find(b"\r\n", pos)
                if line_end < 0:
                    return None
                empty = line_end == pos
                pos = line_end + 2
                if empty:
                    return b"".join(parts), pos
        if len(buf) < pos + size + 2:
            return None
        parts.append(bytes(buf[pos : pos + size]))
        pos += size + 2


def jsonrpc_message(resp: Response, id_: int) -> dict:
    """The JSON-RPC reply with `id_` from a JSON body or from the SSE events of a stream."""
    if resp.status != 200:
        raise HttpError(f"HTTP {resp.status}: {resp.body[:200]!r}")
    if resp.headers.get("content-type", "").startswith("text/event-stream"):
        for data in sse_data(resp.body):
            msg = _json_or_none(data)
            if isinstance(msg, dict) and msg.get("id") == id_:
                return msg
        raise HttpError(f"no reply with id {id_} in the event stream: {resp.body[:200]!r}")
    msg = _json_or_none(resp.body)
    if not isinstance(msg, dict):
        raise HttpError(f"body is not a JSON-RPC message: {resp.body[:200]!r}")
    return msg


def sse_data(body: bytes) -> list[str]:
    """The `data` of each event (multi-line data joined by newlines, as the SSE spec says)."""
    events, current = [], []
    for raw in body.decode("utf-8", "replace").splitlines() + [""]:
        if raw == "":
            if current:
                events.append("\n".join(current))
            current = []
        elif raw.startswith("data:"):
            value = raw[5:]
            current.append(value[1:] if value.startswith(" ") else value)
    return events


def _json_or_none(text):
    try:
        return json.loads(text)
    except ValueError:
        return None


class Session:
    """One MCP session on its own connection: initialize, initialized, then tool calls."""

    def __init__(self, port: int, stateless: bool):
        self.conn = Connection(port)
        self.stateless = stateless
        self.session_id: str | None = None
        self.next_id = 1
        self.post_head: bytes | None = None  # the same for every call once initialized

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": ACCEPT, "Content-Type": "application/json"}
        if self.session_id:
            headers["Mcp-Session-Id"] = self.session_id
            headers["MCP-Protocol-Version"] = initialize_params("")["protocolVersion"]
        return headers

    async def start(self) -> None:
        await self.conn.open()
        if self.stateless:
            return
        reply = await self.call_raw("initialize", initialize_params("eks-ops-bench-http"))
        if "result" not in reply:
            raise HttpError(f"initialize failed: {reply}")
        note = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        resp = await self.conn.send("POST", json.dumps(note).encode(), self._headers())
        if resp.status not in (200, 202):
            raise HttpError(f"notifications/initialized got HTTP {resp.status}")

    async def call_raw(self, method: str, params: dict) -> dict:
        id_ = self.next_id
        self.next_id += 1
        body = json.dumps({"jsonrpc": "2.0", "id": id_, "method": method, "params": params})
        resp = await self.conn.send("POST", body.encode(), self._headers())
        if method == "initialize":
            self.session_id = resp.headers.get("mcp-session-id")
        return jsonrpc_message(resp, id_)

    async def timed_call(self, tool: str, args: dict) -> tuple[float, str | None]:
        """(seconds until the whole response arrived, error text or None)."""
        id_ = self.next_id
        self.next_id += 1
        params = {"name": tool, "arguments": args}
        body = json.dumps({"jsonrpc": "2.0", "id": id_, "method": "tools/call", "params": params})
        if self.post_head is None:
            self.post_head = self.conn.head("POST", self._headers())
        started = time.perf_counter()
        resp = await self.conn.send_with_head(self.post_head, body.encode())
        elapsed = time.perf_counter() - started
        try:
            msg = jsonrpc_message(resp, id_)
        except HttpError as err:
            return elapsed, str(err)
        return elapsed, tool_error(msg)

    async def close(self) -> None:
        if self.session_id:
            with contextlib.suppress(
                OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, HttpError
            ):
                await asyncio.wait_for(self.conn.send("DELETE", b"", self._headers()), 5)
        await self.conn.close()


@dataclass
class LoadSpec:
    port: int
    server_pid: int
    tool: str
    args: dict
    stateless: bool = False


async def run_level(spec: LoadSpec, sessions: int, calls: int, cap_s: float) -> LevelResult:
    """`sessions` concurrent sessions, each `calls` calls in a loop, all stopped after `cap_s`."""
    result = LevelResult(sessions, sessions * calls)
    clients = [Session(spec.port, spec.stateless) for _ in range(sessions)]
    try:
        await asyncio.wait_for(asyncio.gather(*(c.start() for c in clients)), cap_s)
        await _measure(spec, clients, calls, cap_s, result)
        result.server_rss_kb = procs.memory_kb(spec.server_pid)[0]
    except (TimeoutError, OSError, asyncio.IncompleteReadError, HttpError) as err:
        result.errors.append(f"level aborted: {type(err).__name__}: {err}"[:300])
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    return result


async def _measure(spec, clients, calls, cap_s, result: LevelResult) -> None:
    deadline = time.perf_counter() + cap_s
    cpu0, client0 = procs.cpu_seconds(spec.server_pid), time.process_time()
    started = time.perf_counter()
    loops = [_loop(spec, c, calls, deadline, result) for c in clients]
    await asyncio.wait_for(asyncio.gather(*loops), cap_s + 30)
    result.wall_s = time.perf_counter() - started
    result.server_cpu_s = procs.cpu_seconds(spec.server_pid) - cpu0
    result.client_cpu_s = time.process_time() - client0
    result.capped = len(result.latencies) + len(result.errors) < result.planned


async def _loop(spec, client: Session, calls: int, deadline: float, result: LevelResult) -> None:
    for _ in range(calls):
        if time.perf_counter() > deadline:
            return
        elapsed, error = await client.timed_call(spec.tool, spec.args)
        if error:
            result.errors.append(error)
        else:
            result.latencies.append(elapsed)


async def warm_up(spec: LoadSpec, calls: int) -> list[str]:
    """A few untimed calls so the first measured level does not pay for lazy initialisation."""
    client = Session(spec.port, spec.stateless)
    errors = []
    try:
        await client.start()
        for _ in range(calls):
            _, error = await client.timed_call(spec.tool, spec.args)
            if error:
                errors.append(error)
    finally:
        await client.close()
    return errors
