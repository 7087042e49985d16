"""Results of tool-call runs and their statistics, shared by the stdio and HTTP measurements."""

from __future__ import annotations

import json
from dataclasses import dataclass, field


def percentile(values: list[float], pct: float) -> float:
    """Linear interpolation between closest ranks (numpy's default); NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class LevelResult:
    sessions: int
    planned: int
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    capped: bool = False
    server_rss_kb: int = 0

    def p(self, pct: float) -> float:
        return percentile(self.latencies, pct) * 1000.0

    def throughput(self) -> float:
        return len(self.latencies) / self.wall_s if self.wall_s > 0 else 0.0


def tool_error(msg: dict) -> str | None:
    if "error" in msg:
        return f"JSON-RPC error {msg['error']}"[:200]
    result = msg.get("result")
    if not isinstance(result, dict):
        return "reply without result"
    if result.get("isError"):
        return f"tool error: {json.dumps(result.get('content'))[:200]}"
    return None
