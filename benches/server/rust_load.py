"""The HTTP levels driven by the Rust load generator (benches/http_load.rs) instead of the
Python client: its cost per call is a small fraction of the server's, so less of the shared
cores goes to the client and less client time ends up in the measured latency.

The generator initializes its sessions, prints `{"ready": true}` and waits; this side reads the
server's CPU time, lets it run, reads the server's CPU time and memory when the result line
arrives, then lets it close its sessions — the same bracket the Python client uses.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import procs
from http_load import LoadSpec
from stats import LevelResult
from stdio_probe import PROTOCOL_VERSION

ROOT = Path(__file__).resolve().parents[2]


def build() -> Path:
    """Path of the release-profile `http_load` bench binary, built (or found up to date)."""
    done = subprocess.run(
        ["cargo", "bench", "--bench", "http_load", "--no-run", "--message-format=json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=os.environ,
    )
    if done.returncode != 0:
        raise SystemExit(f"building the http_load bench failed:\n{done.stderr[-2000:]}")
    for line in done.stdout.splitlines():
        msg = json.loads(line)
        target = msg.get("target", {}).get("name")
        if msg.get("reason") == "compiler-artifact" and target == "http_load" and msg["executable"]:
            return Path(msg["executable"])
    raise SystemExit("cargo did not report the http_load bench executable")


def _argv(binary: Path, spec: LoadSpec, sessions: int, calls: int, cap_s: float) -> list[str]:
    argv = [str(binary), "--port", str(spec.port), "--sessions", str(sessions)]
    argv += ["--calls", str(calls), "--cap", str(cap_s), "--tool", spec.tool]
    argv += ["--args", json.dumps(spec.args), "--protocol-version", PROTOCOL_VERSION]
    return argv + (["--stateless"] if spec.stateless else [])


def run_level(binary: Path, spec: LoadSpec, sessions: int, calls: int, cap_s: float) -> LevelResult:
    """`sessions` concurrent sessions, each `calls` calls in a loop, all stopped after `cap_s`."""
    result = LevelResult(sessions, sessions * calls)
    argv = _argv(binary, spec, sessions, calls, cap_s) + ["--handshake"]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(proc.stdout.readline() or "{}")
        cpu0 = procs.cpu_seconds(spec.server_pid)
        if ready.get("ready"):
            proc.stdin.write("go\n")
            proc.stdin.flush()
        line = proc.stdout.readline()
        result.server_cpu_s = procs.cpu_seconds(spec.server_pid) - cpu0
        result.server_rss_kb = procs.memory_kb(spec.server_pid)[0]
        proc.stdin.write("close\n")
        proc.stdin.close()
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if not line:
        result.errors.append(f"level aborted: http_load exited {proc.returncode} without a result")
        return result
    _fill(result, json.loads(line))
    return result


def _fill(result: LevelResult, reply: dict) -> None:
    result.latencies = reply["latencies"]
    result.errors = reply["errors"]
    result.wall_s = reply["wall_s"]
    result.client_cpu_s = reply["client_cpu_s"]
    result.capped = reply["capped"]


def warm_up(binary: Path, spec: LoadSpec, calls: int) -> list[str]:
    """A few untimed calls so the first measured level does not pay for lazy initialisation."""
    done = subprocess.run(
        _argv(binary, spec, 1, calls, 60.0), capture_output=True, text=True, timeout=120
    )
    lines = done.stdout.splitlines()
    if not lines:
        return [f"http_load exited {done.returncode}: {done.stderr.strip()[-300:]}"]
    return json.loads(lines[-1])["errors"]
