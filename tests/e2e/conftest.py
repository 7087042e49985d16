"""Fixtures for the end-to-end tests: the built server, a clean environment, servers on free ports.

Every server process is started here and stopped by its PID. The environment is stripped of
EKS_OPS_*, AWS_* and KUBECONFIG settings and HOME points at an empty directory, so the server runs
with no configuration and serves its bundled snapshot (cluster shop-prod, namespace shop).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from servers import HttpServer, spawn_http_server

ROOT = Path(__file__).resolve().parents[2]
# One request may take this long before the session gives up; tests stay bounded without a plugin.
READ_TIMEOUT = 20.0


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def server_bin() -> str:
    path = os.environ.get("EKS_OPS_MCP_BIN") or str(ROOT / "target" / "debug" / "eks-ops-mcp")
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"server binary {path} not found: build it (cargo build) or set EKS_OPS_MCP_BIN"
        )
    return path


@pytest.fixture(scope="session")
def clean_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith(("EKS_OPS_", "AWS_")) or k == "KUBECONFIG")
    }
    env["HOME"] = str(home)
    return env


@pytest.fixture(scope="session")
def http_server(
    server_bin: str, clean_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HttpServer]:
    log = tmp_path_factory.mktemp("http-server") / "stderr.log"
    with spawn_http_server(server_bin, clean_env, log) as server:
        yield server


@pytest.fixture
def open_session(server_bin, clean_env, http_server, tmp_path):
    """Opens an initialized ClientSession over the transport named `stdio` or `http`."""

    @asynccontextmanager
    async def opener(transport: str) -> AsyncIterator[ClientSession]:
        try:
            async with connect(transport) as session:
                yield session
        except BaseExceptionGroup as group:
            # The SDK's task groups wrap a failed assertion; show the assertion itself.
            raise single_cause(group) from None

    @asynccontextmanager
    async def connect(transport: str) -> AsyncIterator[ClientSession]:
        if transport == "stdio":
            params = StdioServerParameters(command=server_bin, args=["serve"], env=clean_env)
            with open(tmp_path / "stdio-stderr.log", "w") as errlog:
                async with stdio_client(params, errlog=errlog) as (read, write):
                    async with ClientSession(read, write, read_timeout_seconds=READ_TIMEOUT) as s:
                        await s.initialize()
                        yield s
        else:
            async with streamable_http_client(http_server.mcp_url) as (read, write):
                async with ClientSession(read, write, read_timeout_seconds=READ_TIMEOUT) as s:
                    await s.initialize()
                    yield s

    return opener


def single_cause(error: BaseException) -> BaseException:
    """The one exception inside nested single-member groups, or the group when there are more."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error
