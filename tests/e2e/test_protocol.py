"""MCP over both transports with the Python SDK's ClientSession: handshake, catalog, a tool call on
the bundled snapshot, and each kind of bad call, after which the same session must keep working."""

from __future__ import annotations

import json
import re
from typing import Any

import anyio
import pytest
from mcp import ClientSession
from mcp.shared.exceptions import MCPError

from mcp_checks import shop_pod_problems, tool_problems

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("transport", ["stdio", "http"])]

TEST_TIMEOUT = 60
TOOL_NAME = re.compile(r"^[a-z][a-z0-9]*_[a-z0-9_]+$")


async def tools_by_name(session: ClientSession) -> dict[str, dict[str, Any]]:
    listed = await session.list_tools()
    return {t.name: t.model_dump(by_alias=True, exclude_none=True) for t in listed.tools}


async def list_shop_pods(session: ClientSession) -> Any:
    result = await session.call_tool("k8s_list_resources", {"kind": "Pod", "namespace": "shop"})
    assert not result.is_error, f"k8s_list_resources failed: {result.content!r}"
    return result


async def expect_clear_error(
    session: ClientSession, tool: str, args: dict[str, Any], names: str
) -> str:
    """Calls a tool that must fail, as a JSON-RPC error or an isError result naming `names`.

    Afterwards the session must still answer a ping and a good call.
    """
    try:
        result = await session.call_tool(tool, args)
    except MCPError as e:
        message = f"{e.message} {json.dumps(e.data) if e.data is not None else ''}"
    else:
        assert result.is_error, f"{tool}({args}) succeeded: {result.model_dump(by_alias=True)}"
        message = " ".join(getattr(c, "text", "") for c in result.content)
    assert names.lower() in message.lower(), (
        f"error for {tool}({args}) does not name {names!r}: {message!r}"
    )
    await session.send_ping()
    await list_shop_pods(session)
    return message


async def test_initialize_names_the_server(open_session, transport):
    with anyio.fail_after(TEST_TIMEOUT):
        async with open_session(transport) as session:
            info = session.server_info
            assert info is not None and info.name == "eks-ops-mcp"
            assert info.version
            assert (
                session.server_capabilities is not None
                and session.server_capabilities.tools is not None
            )


async def test_every_tool_has_output_schema_and_annotations(open_session, transport):
    with anyio.fail_after(TEST_TIMEOUT):
        async with open_session(transport) as session:
            tools = await tools_by_name(session)
    assert "k8s_list_resources" in tools, sorted(tools)
    bad_names = [name for name in tools if not TOOL_NAME.match(name)]
    assert not bad_names, f"tool names not <family>_<verb>: {bad_names}"
    problems = [p for tool in tools.values() for p in tool_problems(tool)]
    assert not problems, "\n".join(problems)


async def test_list_pods_of_the_bundled_snapshot(open_session, transport):
    with anyio.fail_after(TEST_TIMEOUT):
        async with open_session(transport) as session:
            result = await list_shop_pods(session)
    assert isinstance(result.structured_content, dict), "no structuredContent"
    assert not shop_pod_problems(result.structured_content, only_shop=True), (
        result.structured_content
    )
    summary = " ".join(getattr(c, "text", "") for c in result.content)
    assert summary.strip(), "no text summary beside structuredContent"


async def test_unknown_tool(open_session, transport):
    with anyio.fail_after(TEST_TIMEOUT):
        async with open_session(transport) as session:
            await expect_clear_error(session, "no_such_tool", {}, "no_such_tool")


async def test_wrong_typed_argument(open_session, transport):
    with anyio.fail_after(TEST_TIMEOUT):
        async with open_session(transport) as session:
            await expect_clear_error(
                session, "k8s_list_resources", {"kind": "Pod", "limit": "many"}, "limit"
            )


async def test_missing_required_argument(open_session, transport):
    with anyio.fail_after(TEST_TIMEOUT):
        async with open_session(transport) as session:
            tools = await tools_by_name(session)
            # k8s_list_resources first; any tool with a required argument serves if it has none.
            order = sorted(tools, key=lambda name: name != "k8s_list_resources")
            needy = [(n, tools[n]["inputSchema"].get("required")) for n in order]
            needy = [(n, req) for n, req in needy if req]
            assert needy, "no tool declares a required argument"
            name, required = needy[0]
            await expect_clear_error(session, name, {}, required[0])


async def test_out_of_range_argument(open_session, transport):
    with anyio.fail_after(TEST_TIMEOUT):
        async with open_session(transport) as session:
            await expect_clear_error(
                session, "k8s_list_resources", {"kind": "Pod", "limit": -5}, "limit"
            )


async def test_investigate_reports_progress(open_session, transport):
    """A call that carries a progressToken gets ordered notifications/progress before its result."""
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    with anyio.fail_after(TEST_TIMEOUT):
        async with open_session(transport) as session:
            result = await session.call_tool(
                "incident_investigate",
                {"target": "Deployment/checkout", "namespace": "shop"},
                progress_callback=on_progress,
            )
    assert not result.is_error, f"incident_investigate failed: {result.content!r}"
    assert len(seen) >= 3, f"progress notifications: {seen!r}"
    steps = [p for p, _, _ in seen]
    assert steps == sorted(steps), f"progress went backwards: {seen!r}"
    assert all(total == 4 for _, total, _ in seen), seen
    assert all(message for _, _, message in seen), seen
