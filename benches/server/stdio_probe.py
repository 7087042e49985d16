"""Cold start and footprint of an MCP server over stdio, identical for ours and the peers.

One probe: spawn, write `initialize` at once (the pipe holds it until the server reads), time
until its response line arrives, then `notifications/initialized` and `tools/list` (following
`nextCursor`), then read VmRSS/VmHWM of the process tree while it is still serving.
"""

from __future__ import annotations

import json
import os
import select
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import procs
from stats import LevelResult, percentile, tool_error

PROTOCOL_VERSION = "2025-06-18"


class ProbeError(Exception):
    """A server that did not answer as MCP requires; the message says what happened."""


@dataclass
class Probe:
    init_ms: float
    rss_kb: int
    hwm_kb: int
    processes: int
    init_bytes: int  # the initialize reply; its `instructions` also land in the model's context
    list_bytes: int
    tools: int
    server_info: dict


@dataclass
class ProbeSeries:
    runs: list[Probe] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def median_init(self) -> float:
        return statistics.median(p.init_ms for p in self.runs)

    def p90_init(self) -> float:
        return percentile([p.init_ms for p in self.runs], 90)

    def median_rss(self) -> float:
        return statistics.median(p.rss_kb for p in self.runs)

    def median_hwm(self) -> float:
        return statistics.median(p.hwm_kb for p in self.runs)


def request(id_: int, method: str, params: dict | None = None) -> bytes:
    msg = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        msg["params"] = params
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode()


def initialize_params(client: str) -> dict:
    return {
        "protocolVersion": PROTOCOL_VERSION,
        "capabilities": {},
        "clientInfo": {"name": client, "version": "0"},
    }


class LineReader:
    """Newline-delimited JSON-RPC from a pipe, with a deadline on every read."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buffer = b""

    def message(self, id_: int, deadline: float) -> tuple[bytes, dict, float]:
        """Response `id_` as (raw line, parsed, arrival time), skipping notifications and logs."""
        while True:
            line, arrived = self._line(deadline)
            try:
                msg = json.loads(line)
            except ValueError:
                continue  # a server printing non-JSON on stdout; MCP forbids it, keep reading
            if isinstance(msg, dict) and msg.get("id") == id_:
                return line, msg, arrived

    def _line(self, deadline: float) -> tuple[bytes, float]:
        while b"\n" not in self.buffer:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise ProbeError("no response before the deadline")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                raise ProbeError("stdout closed before the response")
            self.buffer += chunk
        arrived = time.perf_counter()
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.rstrip(b"\r"), arrived


def probe_once(argv: list[str], env: dict, cwd: Path, stderr: Path, timeout: float) -> Probe:
    """One cold start; the process is always stopped before returning."""
    started = time.perf_counter()
    deadline = started + timeout
    try:
        proc = procs.spawn(argv, env, cwd, stderr)
    except OSError as err:
        raise ProbeError(f"cannot start {argv[0]}: {err}") from err
    try:
        os.write(proc.stdin.fileno(), request(1, "initialize", initialize_params("eks-ops-bench")))
        reader = LineReader(proc.stdout.fileno())
        init_line, init, arrived = reader.message(1, deadline)
        if "result" not in init:
            raise ProbeError(f"initialize failed: {json.dumps(init)[:200]}")
        init_ms = (arrived - started) * 1000.0
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        os.write(proc.stdin.fileno(), (json.dumps(initialized) + "\n").encode())
        list_bytes, tools = list_tools(proc, reader, deadline)
        rss, hwm, count = procs.memory_kb(proc.pid)
        info = init["result"].get("serverInfo", {})
        return Probe(init_ms, rss, hwm, count, len(init_line), list_bytes, tools, info)
    except (OSError, ValueError) as err:
        raise ProbeError(f"{type(err).__name__}: {err}") from err
    finally:
        procs.stop(proc)


def list_tools(proc, reader: LineReader, deadline: float) -> tuple[int, int]:
    """Total bytes of the `tools/list` response lines and the number of tools, over all pages."""
    total_bytes = tools = 0
    cursor = None
    for page_id in range(2, 102):
        params = {"cursor": cursor} if cursor else None
        os.write(proc.stdin.fileno(), request(page_id, "tools/list", params))
        line, msg, _ = reader.message(page_id, deadline)
        result = msg.get("result")
        if not isinstance(result, dict):
            raise ProbeError(f"tools/list failed: {line[:200]!r}")
        total_bytes += len(line)
        tools += len(result.get("tools", []))
        cursor = result.get("nextCursor")
        if not cursor:
            return total_bytes, tools
    raise ProbeError("tools/list paginated past 100 pages")


def probe_series(argv, env, cwd, stderr, runs: int, budget_s: float, timeout: float) -> ProbeSeries:
    """One discarded warm-up probe (page cache, bytecode caches), then up to `runs` measured ones.

    Stops early when `budget_s` is spent (slow peers), or after three failures and no success.
    """
    series = ProbeSeries()
    try:
        probe_once(argv, env, cwd, stderr, timeout)
    except ProbeError as err:
        series.failures.append(f"warm-up: {err}")
    budget_end = time.monotonic() + budget_s
    for _ in range(runs):
        if time.monotonic() > budget_end:
            break
        try:
            series.runs.append(probe_once(argv, env, cwd, stderr, timeout))
        except ProbeError as err:
            series.failures.append(str(err))
            if len(series.failures) >= 3 and not series.runs:
                break
    return series


def stdio_calls(argv, env, cwd, stderr, call: tuple[str, dict], calls: int, cap_s: float):
    """Sequential `tools/call` over stdio on one process: the tool's own cost, without HTTP."""
    result = LevelResult(1, calls)
    try:
        proc = procs.spawn(argv, env, cwd, stderr)
    except OSError as err:
        result.errors.append(f"cannot start {argv[0]}: {err}")
        return result
    try:
        os.write(proc.stdin.fileno(), request(1, "initialize", initialize_params("eks-ops-bench")))
        reader = LineReader(proc.stdout.fileno())
        reader.message(1, time.perf_counter() + 60)
        initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
        os.write(proc.stdin.fileno(), (json.dumps(initialized) + "\n").encode())
        _call_loop(proc, reader, call, cap_s, result)
        result.server_rss_kb = procs.memory_kb(proc.pid)[0]
    except (ProbeError, OSError, ValueError) as err:
        result.errors.append(f"aborted: {err}")
    finally:
        procs.stop(proc)
    return result


def _call_loop(proc, reader: LineReader, call: tuple[str, dict], cap_s: float, result) -> None:
    tool, args = call
    cpu0, client0 = procs.cpu_seconds(proc.pid), time.process_time()
    started = time.perf_counter()
    deadline = started + cap_s
    for id_ in range(2, result.planned + 2):
        if time.perf_counter() > deadline:
            break
        sent = time.perf_counter()
        os.write(proc.stdin.fileno(), request(id_, "tools/call", {"name": tool, "arguments": args}))
        _, msg, arrived = reader.message(id_, deadline + 30)
        error = tool_error(msg)
        if error:
            result.errors.append(error)
        else:
            result.latencies.append(arrived - sent)
    result.wall_s = time.perf_counter() - started
    result.server_cpu_s = procs.cpu_seconds(proc.pid) - cpu0
    result.client_cpu_s = time.process_time() - client0
    result.capped = len(result.latencies) + len(result.errors) < result.planned
