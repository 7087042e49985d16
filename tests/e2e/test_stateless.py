"""`serve --http --stateless`: the SDK client needs no session to list and call tools."""

from __future__ import annotations

import anyio
import pytest

from mcp_checks import shop_pod_problems
from servers import spawn_http_server
from sessions import http_session

pytestmark = pytest.mark.anyio


async def test_stateless_http_lists_and_calls(server_bin, clean_env, tmp_path):
    log = tmp_path / "stderr.log"
    with spawn_http_server(server_bin, clean_env, log, ("--stateless",)) as server:
        with anyio.fail_after(60):
            async with http_session(server.mcp_url) as session:
                assert (await session.list_tools()).tools
                args = {"kind": "Pod", "namespace": "shop"}
                result = await session.call_tool("k8s_list_resources", args)
    assert not result.is_error, result.content
    assert not shop_pod_problems(result.structured_content, only_shop=True)
