"""Hand-built JSON-RPC messages for the tests that talk to the server below the SDK."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

PROTOCOL_VERSION = "2025-06-18"
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}


def initialize_request(id_: int = 1) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": id_,
        "method": "initialize",
        "params": {
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "eks-ops-e2e-raw", "version": "0"},
        },
    }


def jsonrpc_reply(resp: httpx.Response) -> dict[str, Any]:
    """The JSON-RPC message in a response body, plain JSON or the first SSE `data:` event."""
    if resp.headers.get("content-type", "").startswith("text/event-stream"):
        for line in resp.text.splitlines():
            if line.startswith("data:") and line[5:].strip():
                return json.loads(line[5:])
        pytest.fail(f"SSE response without data: {resp.text[:300]!r}")
    try:
        return resp.json()
    except ValueError:
        pytest.fail(f"HTTP {resp.status_code} body is not JSON: {resp.text[:300]!r}")


def assert_parse_error(reply: dict[str, Any]) -> None:
    assert "error" in reply, f"expected a JSON-RPC error, got {reply}"
    assert reply["error"].get("code") == -32700, f"expected a parse error (-32700), got {reply}"
    assert reply.get("id") is None, f"a parse error has id null, got {reply}"
