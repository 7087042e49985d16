"""Checks on MCP results shared by the pytest suite and the Inspector CLI check.

They read plain JSON (dicts and lists), so the same code judges a result that the Python SDK
returned and one that the Inspector printed.
"""

from __future__ import annotations

from collections import deque
from typing import Any

ANNOTATIONS = ("readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint")


def tool_problems(tool: dict[str, Any]) -> list[str]:
    """What a served tool lacks: an object output schema and all four annotations, set."""
    name = tool.get("name", "?")
    problems = []
    schema = tool.get("outputSchema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        problems.append(f"{name}: outputSchema missing or not an object schema: {schema!r}")
    annotations = tool.get("annotations") or {}
    for hint in ANNOTATIONS:
        if not isinstance(annotations.get(hint), bool):
            problems.append(f"{name}: annotation {hint} not set: {annotations!r}")
    return problems


def _identity(item: Any) -> tuple[str, str | None] | None:
    """(name, namespace) of a listed object, flat or in Kubernetes `metadata` form."""
    if not isinstance(item, dict):
        return None
    meta = item.get("metadata") if isinstance(item.get("metadata"), dict) else item
    name = meta.get("name")
    if not isinstance(name, str):
        return None
    namespace = meta.get("namespace")
    return name, namespace if isinstance(namespace, str) else None


def listed_objects(structured: Any) -> list[tuple[str, str | None]]:
    """The objects of a listing: the shallowest list whose entries all have a name.

    Breadth first, so a pod's own `containers` list (deeper) is never taken for the listing.
    """
    queue: deque[Any] = deque([structured])
    while queue:
        node = queue.popleft()
        if isinstance(node, list):
            ids = [_identity(item) for item in node]
            if ids and all(ids):
                return ids  # type: ignore[return-value]
            queue.extend(node)
        elif isinstance(node, dict):
            queue.extend(node.values())
    return []


def shop_pod_problems(structured: Any, only_shop: bool) -> list[str]:
    """Why a k8s_list_resources(kind=Pod) result does not show the snapshot's shop pods."""
    objects = listed_objects(structured)
    shop = [name for name, ns in objects if ns == "shop"]
    problems = []
    if not any(name.startswith("checkout-") for name in shop):
        problems.append(f"no checkout pod of namespace shop among {objects!r}")
    if only_shop:
        others = [(name, ns) for name, ns in objects if ns != "shop"]
        if others:
            problems.append(f"objects outside namespace shop: {others!r}")
    return problems
