"""Streamable HTTP below the SDK: health, malformed JSON, body size limit, DNS-rebinding defences.

After every rejected request the same server must still answer, so each test ends by checking
/healthz and a fresh initialize.
"""

from __future__ import annotations

import json
import select
import socket
from urllib.parse import urlsplit

import httpx
import pytest

from wire import MCP_HEADERS, assert_parse_error, initialize_request, jsonrpc_reply

# Far above any sensible request-body limit for JSON-RPC, and still quick to send over loopback.
OVERSIZED_BODY = 32 * 1024 * 1024
TIMEOUT = 10.0


def post(url: str, body: bytes | str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(
        url, content=body, headers={**MCP_HEADERS, **(headers or {})}, timeout=TIMEOUT
    )


def assert_still_serving(http_server) -> None:
    assert httpx.get(f"{http_server.base}/healthz", timeout=TIMEOUT).status_code == 200
    resp = post(http_server.mcp_url, json.dumps(initialize_request()))
    assert resp.status_code == 200, (
        f"initialize after a rejected request: {resp.status_code} {resp.text[:300]}"
    )
    assert jsonrpc_reply(resp)["result"]["serverInfo"]["name"] == "eks-ops-mcp"


def test_healthz(http_server):
    resp = httpx.get(f"{http_server.base}/healthz", timeout=TIMEOUT)
    assert resp.status_code == 200
    assert resp.headers.get("content-type", "").startswith("application/json")
    assert isinstance(resp.json(), dict)


def test_local_host_and_no_origin_are_accepted(http_server):
    assert_still_serving(http_server)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_local_origin_is_accepted(http_server, host):
    origin = f"http://{host}:{urlsplit(http_server.base).port}"
    resp = post(http_server.mcp_url, json.dumps(initialize_request()), {"Origin": origin})
    assert resp.status_code == 200, (
        f"Origin: {origin} got HTTP {resp.status_code}: {resp.text[:300]}"
    )


def test_malformed_json_gets_parse_error(http_server):
    resp = post(http_server.mcp_url, '{"jsonrpc": "2.0", "id": 1, "method": ')
    assert 400 <= resp.status_code < 500, f"HTTP {resp.status_code} for malformed JSON"
    assert_parse_error(jsonrpc_reply(resp))
    assert_still_serving(http_server)


def test_foreign_host_is_misdirected(http_server):
    resp = post(http_server.mcp_url, json.dumps(initialize_request()), {"Host": "evil.example.com"})
    assert resp.status_code == 421, f"Host: evil.example.com got HTTP {resp.status_code}"
    assert_still_serving(http_server)


def test_foreign_origin_is_forbidden(http_server):
    resp = post(
        http_server.mcp_url, json.dumps(initialize_request()), {"Origin": "http://evil.example.com"}
    )
    assert resp.status_code == 403, f"Origin: http://evil.example.com got HTTP {resp.status_code}"
    assert_still_serving(http_server)


def status_of_oversized_post(url: str, size: int) -> int:
    """POSTs `size` bytes over a raw socket and returns the HTTP status the server answers.

    A server may answer 413 before reading the body and close; writing and reading are
    interleaved with select so that early answer is read rather than lost in a blocked send.
    """
    parts = urlsplit(url)
    head = (
        f"POST {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Content-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
        f"Content-Length: {size}\r\nConnection: close\r\n\r\n"
    ).encode()
    chunk = b" " * 65536
    with socket.create_connection((parts.hostname, parts.port), timeout=TIMEOUT) as sock:
        sock.sendall(head)
        sent, answer = 0, b""
        while b"\r\n" not in answer:
            want_write = [sock] if sent < size else []
            readable, writable, _ = select.select([sock], want_write, [], TIMEOUT)
            if not readable and not writable:
                pytest.fail(f"no answer after sending {sent} of {size} bytes")
            if readable:
                data = sock.recv(4096)
                if not data:
                    break
                answer += data
            elif writable:
                try:
                    sent += sock.send(chunk[: size - sent])
                except (BrokenPipeError, ConnectionResetError):
                    sent = size
    status_line = answer.split(b"\r\n", 1)[0].decode(errors="replace")
    assert status_line.startswith("HTTP/1."), f"no HTTP status line, got {answer[:200]!r}"
    return int(status_line.split()[1])


def test_oversized_body_is_rejected(http_server):
    assert status_of_oversized_post(http_server.mcp_url, OVERSIZED_BODY) == 413
    assert_still_serving(http_server)
