#!/usr/bin/env python3
"""Judges what the MCP Inspector CLI printed, for tests/run.sh.

    inspector_check.py tools-list FILE   every tool has an output schema and all four annotations
    inspector_check.py shop-pods FILE    a k8s_list_resources(kind=Pod) result lists shop's pods

Exits 0 when the output passes, 1 with the reasons otherwise.
"""

from __future__ import annotations

import json
import sys

from mcp_checks import shop_pod_problems, tool_problems


def tools_list_problems(out: dict) -> list[str]:
    tools = out.get("tools")
    if not isinstance(tools, list) or not tools:
        return [f"no tools in {str(out)[:300]}"]
    names = [t.get("name") for t in tools]
    problems = [] if "k8s_list_resources" in names else [f"k8s_list_resources not in {names}"]
    return problems + [p for t in tools for p in tool_problems(t)]


def shop_pods_problems(out: dict) -> list[str]:
    if out.get("isError"):
        return [f"tool error: {str(out.get('content'))[:300]}"]
    if not isinstance(out.get("structuredContent"), dict):
        return ["no structuredContent"]
    return shop_pod_problems(out["structuredContent"], only_shop=False)


CHECKS = {"tools-list": tools_list_problems, "shop-pods": shop_pods_problems}


def main() -> int:
    if len(sys.argv) != 3 or sys.argv[1] not in CHECKS:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        with open(sys.argv[2], encoding="utf-8") as f:
            out = json.load(f)
    except (OSError, ValueError) as e:
        print(f"inspector output unreadable: {e}")
        return 1
    problems = (
        CHECKS[sys.argv[1]](out) if isinstance(out, dict) else ["output is not a JSON object"]
    )
    for p in problems:
        print(f"  {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
