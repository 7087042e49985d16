"""Raw JSON-RPC over stdio, below the SDK: malformed input and end of input.

The SDK never sends broken JSON, so these tests write bytes to the server's stdin themselves.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from typing import Any

import pytest

from servers import stop
from wire import INITIALIZED, assert_parse_error, initialize_request

REPLY_TIMEOUT = 10.0
EXIT_TIMEOUT = 5.0


class RawStdio:
    """The server over pipes; a thread turns stdout into a queue of lines so reads can time out."""

    def __init__(self, binary: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [binary, "serve"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send_raw(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(json.dumps(message))

    def recv(self) -> dict[str, Any]:
        """The next message; stdout must carry JSON-RPC only, so a line that is not JSON fails."""
        try:
            line = self.lines.get(timeout=REPLY_TIMEOUT)
        except queue.Empty:
            pytest.fail(f"no reply within {REPLY_TIMEOUT}s")
        if line is None:
            pytest.fail(f"server closed stdout (exit code {self.proc.poll()})")
        try:
            return json.loads(line)
        except ValueError:
            pytest.fail(f"stdout line is not JSON: {line[:200]!r}")

    def request(
        self, id_: int, method: str, params: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        self.send({"jsonrpc": "2.0", "id": id_, "method": method, "params": params or {}})
        reply = self.recv()
        assert reply.get("id") == id_, f"expected the reply to {id_}, got {reply}"
        return reply

    def initialize(self) -> dict[str, Any]:
        self.send(initialize_request(1))
        reply = self.recv()
        assert reply.get("id") == 1, f"expected the reply to initialize, got {reply}"
        self.send(INITIALIZED)
        return reply

    def close_stdin_and_wait(self) -> int:
        assert self.proc.stdin is not None
        started = time.monotonic()
        self.proc.stdin.close()
        try:
            code = self.proc.wait(timeout=EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"server still running {EXIT_TIMEOUT}s after stdin closed")
        assert time.monotonic() - started < EXIT_TIMEOUT
        return code


@pytest.fixture
def raw(server_bin, clean_env):
    conn = RawStdio(server_bin, clean_env)
    yield conn
    stop(conn.proc, grace=2)


def test_malformed_json_before_initialize(raw):
    raw.send_raw('{"jsonrpc": "2.0", "id": 7, "method": "initialize", ')
    assert_parse_error(raw.recv())
    reply = raw.initialize()
    assert reply["result"]["serverInfo"]["name"] == "eks-ops-mcp"
    assert raw.request(2, "tools/list")["result"]["tools"]


def test_malformed_json_after_initialize(raw):
    raw.initialize()
    raw.send_raw("this is not json")
    assert_parse_error(raw.recv())
    assert raw.request(2, "tools/list")["result"]["tools"]
    assert raw.request(3, "ping")["result"] == {}


def test_eof_after_a_session_exits_zero(raw):
    raw.initialize()
    assert raw.request(2, "tools/list")["result"]["tools"]
    assert raw.close_stdin_and_wait() == 0


def test_eof_before_any_message_exits_zero(raw):
    assert raw.close_stdin_and_wait() == 0
