"""Server processes for the end-to-end tests: free ports, readiness, and stopping by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

READY_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class HttpServer:
    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    @property
    def mcp_url(self) -> str:
        return f"{self.base}/mcp"

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Ends one process by PID: SIGTERM, then SIGKILL after the grace period."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


def wait_healthy(server: HttpServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            pytest.fail(f"server exited with {server.proc.returncode}:\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not healthy within {READY_TIMEOUT}s:\n{server.log_tail()}")


@contextmanager
def spawn_http_server(
    binary: str, env: dict[str, str], log: Path, extra: tuple[str, ...] = ()
) -> Iterator[HttpServer]:
    port = free_port()
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [binary, "serve", "--http", f"127.0.0.1:{port}", *extra],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    server = HttpServer(proc, f"http://127.0.0.1:{port}", log)
    try:
        wait_healthy(server)
        yield server
    finally:
        stop(proc)
