"""Initialized MCP client sessions from the Python SDK, over stdio or streamable HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

# One request may take this long before the session gives up; tests stay bounded without a plugin.
READ_TIMEOUT = 20.0


def single_cause(error: BaseException) -> BaseException:
    """The one exception inside nested single-member groups, or the group when there are more."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


@asynccontextmanager
async def unwrapped() -> AsyncIterator[None]:
    """The SDK's task groups wrap a failed assertion in exception groups; show the assertion."""
    try:
        yield
    except BaseExceptionGroup as group:
        raise single_cause(group) from None


@asynccontextmanager
async def stdio_session(
    binary: str, env: dict[str, str], errlog: TextIO
) -> AsyncIterator[ClientSession]:
    params = StdioServerParameters(command=binary, args=["serve"], env=env)
    async with unwrapped(), stdio_client(params, errlog=errlog) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=READ_TIMEOUT) as session:
            await session.initialize()
            yield session


@asynccontextmanager
async def http_session(url: str) -> AsyncIterator[ClientSession]:
    async with unwrapped(), streamable_http_client(url) as (read, write):
        async with ClientSession(read, write, read_timeout_seconds=READ_TIMEOUT) as session:
            await session.initialize()
            yield session
