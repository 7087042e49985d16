"""SIGTERM while serving HTTP: the server exits 0 promptly, even with a client stream open."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

import httpx
import pytest

from servers import spawn_http_server
from wire import INITIALIZED, MCP_HEADERS, initialize_request

EXIT_TIMEOUT = 10.0


def open_session_stream(base: str) -> tuple[threading.Thread, threading.Event]:
    """Initializes a session and holds its GET /mcp event stream open in a thread.

    The event is set once the stream's response headers arrived, so SIGTERM lands while a client
    is connected, the case that hangs a shutdown which waits for every connection to close.
    """
    resp = httpx.post(
        f"{base}/mcp", content=json.dumps(initialize_request()), headers=MCP_HEADERS, timeout=10
    )
    assert resp.status_code == 200, resp.text[:300]
    session = resp.headers.get("mcp-session-id")
    headers = {"Accept": "text/event-stream", **({"Mcp-Session-Id": session} if session else {})}
    httpx.post(
        f"{base}/mcp",
        content=json.dumps(INITIALIZED),
        headers={**MCP_HEADERS, **headers},
        timeout=10,
    )
    connected = threading.Event()

    def hold() -> None:
        try:
            with httpx.stream(
                "GET", f"{base}/mcp", headers=headers, timeout=EXIT_TIMEOUT * 2
            ) as stream:
                connected.set()
                for _ in stream.iter_raw():
                    pass
        except httpx.HTTPError:
            pass
        finally:
            connected.set()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert connected.wait(10), "GET /mcp did not answer"
    return thread, connected


@pytest.mark.parametrize("with_open_stream", [False, True], ids=["idle", "open-stream"])
def test_sigterm_exits_cleanly(server_bin, clean_env, tmp_path, with_open_stream):
    with spawn_http_server(server_bin, clean_env, tmp_path / "stderr.log") as server:
        thread = open_session_stream(server.base)[0] if with_open_stream else None
        os.kill(server.proc.pid, signal.SIGTERM)
        try:
            code = server.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running {EXIT_TIMEOUT}s after SIGTERM:\n{server.log_tail()}")
        assert code == 0, f"exit code {code} after SIGTERM:\n{server.log_tail()}"
        if thread is not None:
            thread.join(timeout=5)
