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
from mcp import ClientSession

from servers import HttpServer, spawn_http_server
from sessions import http_session, stdio_session

ROOT = Path(__file__).resolve().parents[2]


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
        if transport == "stdio":
            with open(tmp_path / "stdio-stderr.log", "w") as errlog:
                async with stdio_session(server_bin, clean_env, errlog) as session:
                    yield session
        else:
            async with http_session(http_server.mcp_url) as session:
                yield session

    return opener
