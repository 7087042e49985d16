"""Server benchmarks of issue 2 §7: cold start, RSS and catalog size over stdio side by side with
two peer MCP servers, then HTTP tools/call latency and throughput of ours at 1, 16 and 128
concurrent sessions. Prints markdown tables and writes them to target/bench/server.md.

Run through `bash benches/server/run.sh` (which builds the release binary first). Only
127.0.0.1 is contacted besides the package registries used for the pinned peer installs; the
peers get fake AWS credentials, a kubeconfig pointing at 127.0.0.1:1 and a proxy that goes
nowhere, so they cannot reach a real account or cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import datetime
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import http_load
import peers
import procs
import report
import rust_load
from stdio_probe import ProbeError, ProbeSeries, probe_series, stdio_calls

ROOT = Path(__file__).resolve().parents[2]
FALLBACK_SNAPSHOT = "tests/fixtures/kube-cluster"
TOOL = "k8s_list_resources"

DUMMY_KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: bench
  cluster:
    server: https://127.0.0.1:1
    insecure-skip-tls-verify: true
contexts:
- name: bench
  context: {cluster: bench, user: bench, namespace: default}
current-context: bench
users:
- name: bench
  user: {token: bench-not-a-real-token}
"""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--binary", default=str(ROOT / "target/release/eks-ops-mcp"))
    p.add_argument(
        "--snapshot",
        default="auto",
        help=f"bundle dir or builtin:NAME; auto = builtin:checkout-oom, else {FALLBACK_SNAPSHOT}",
    )
    p.add_argument("--namespace", default="shop", help="namespace for the k8s_list_resources calls")
    p.add_argument("--runs", type=int, default=30, help="measured cold starts per server")
    p.add_argument(
        "--peer-budget", type=float, default=90.0, help="seconds of cold starts per peer"
    )
    p.add_argument("--sessions", default="1,16,128")
    p.add_argument("--calls", type=int, default=200, help="tools/call per session per level")
    p.add_argument("--stdio-calls", type=int, default=1000, help="tools/call in the stdio baseline")
    p.add_argument("--cap", type=float, default=40.0, help="seconds per level")
    p.add_argument("--no-stateless", action="store_true", help="skip the stateless HTTP level")
    p.add_argument(
        "--client",
        choices=["rust", "python"],
        default="rust",
        help="HTTP load client: the http_load bench (Rust) or http_load.py (asyncio)",
    )
    p.add_argument("--no-peers", action="store_true")
    p.add_argument("--no-install", action="store_true", help="use peers only if already installed")
    p.add_argument("--eks-version", default="0.2.1", help="awslabs.eks-mcp-server pin, or latest")
    p.add_argument(
        "--k8s-version", default="0.0.67", help="kubernetes-mcp-server (npm) pin, or latest"
    )
    p.add_argument("--work", default=str(ROOT / ".ci/work"), help="where peer installs are kept")
    p.add_argument("--out", default=str(ROOT / "target/bench/server.md"))
    return p.parse_args()


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def isolated_env(tmp: Path) -> dict[str, str]:
    """The same minimal environment for every server: no real credentials, no way out."""
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    kubeconfig = tmp / "kubeconfig"
    kubeconfig.write_text(DUMMY_KUBECONFIG)
    nowhere = "http://127.0.0.1:1"
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "TMPDIR": str(tmp),
        "LANG": "C.UTF-8",
        "KUBECONFIG": str(kubeconfig),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIABENCHNOTREAL0000",
        "AWS_SECRET_ACCESS_KEY": "bench-not-a-real-secret",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": nowhere,
        "HTTP_PROXY": nowhere,
        "HTTPS_PROXY": nowhere,
        "http_proxy": nowhere,
        "https_proxy": nowhere,
    }


def pick_snapshot(binary: Path, wanted: str, namespace: str, env: dict) -> tuple[str, str]:
    """(snapshot, note): the bundle the runs use, checked by listing namespaces with it."""
    candidates = (
        ["builtin:checkout-oom", str(ROOT / FALLBACK_SNAPSHOT)] if wanted == "auto" else [wanted]
    )
    # Servers run in a temp dir, so a bundle directory must be absolute.
    candidates = [c if c.startswith("builtin:") else str(Path(c).resolve()) for c in candidates]
    notes = []
    for snap in candidates:
        argv = [str(binary), "--snapshot", snap, "call", TOOL, "--args", '{"kind":"Namespace"}']
        try:
            done = subprocess.run(
                argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
            )
        except subprocess.TimeoutExpired:
            notes.append(f"{snap}: timed out")
            continue
        if done.returncode == 0 and namespace in done.stdout.split():
            return snap, "; ".join(notes)
        why = (
            peers.last_line(done.stdout + done.stderr)
            if done.returncode
            else f"no namespace {namespace}"
        )
        notes.append(f"{snap}: {why}")
    raise SystemExit("no usable snapshot: " + "; ".join(notes))


def measure_stdio(
    server: peers.Server, extra: list[str], env, tmp: Path, args
) -> ProbeSeries | None:
    if server.argv is None:
        log(f"{server.name}: skipped ({server.reason})")
        return None
    runs, budget = (
        (args.runs, 600.0) if server.name == "eks-ops-mcp" else (args.runs, args.peer_budget)
    )
    log(f"{server.name} {server.version}: stdio cold starts (up to {runs}, {budget:.0f} s budget)")
    stderr = tmp / f"{server.name.replace(' ', '_')}.stderr"
    series = probe_series(server.argv + extra, env, tmp, stderr, runs, budget, timeout=60.0)
    if not series.runs and stderr.exists():
        tail = peers.last_line(stderr.read_text(errors="replace"))
        series.failures.append(f"{series.failures[-1] if series.failures else ''}; stderr: {tail}")
    log(f"  {len(series.runs)} runs, {len(series.failures)} failures")
    return series


def start_http(binary: Path, snapshot: str, stateless: bool, env, tmp: Path):
    """(process, port) of ours serving streamable HTTP on an ephemeral loopback port."""
    stderr = tmp / ("http-stateless.stderr" if stateless else "http.stderr")
    argv = [str(binary), "serve", "--http", "127.0.0.1:0", "--snapshot", snapshot]
    proc = procs.spawn(argv + (["--stateless"] if stateless else []), env, tmp, stderr)
    line = procs.wait_for_line(stderr, "listening on", proc, timeout=30)
    if line is None:
        procs.stop(proc)
        tail = peers.last_line(stderr.read_text(errors="replace"))
        raise ProbeError(f"HTTP server did not report its address: {tail}")
    return proc, int(line.rsplit(":", 1)[1].strip())


def measure_calls(binary: Path, snapshot: str, namespace: str, env, tmp: Path, args):
    """The stdio baseline, then every HTTP mode and level, as (mode, result) rows."""
    call = (TOOL, {"kind": "Pod", "namespace": namespace})
    argv = [str(binary), "serve", "--snapshot", snapshot]
    log(f"stdio: 1 session × {args.stdio_calls} calls")
    stdio = stdio_calls(argv, env, tmp, tmp / "calls.stderr", call, args.stdio_calls, args.cap)
    return [("stdio", stdio)] + measure_http(binary, snapshot, namespace, env, tmp, args)


def measure_http(binary: Path, snapshot: str, namespace: str, env, tmp: Path, args):
    modes = [("stateful", False, [int(s) for s in args.sessions.split(",") if s.strip()])]
    if not args.no_stateless:
        modes.append(("stateless", True, [16]))
    levels = []
    for mode, stateless, sessions in modes:
        proc, port = start_http(binary, snapshot, stateless, env, tmp)
        try:
            spec = http_load.LoadSpec(
                port, proc.pid, TOOL, {"kind": "Pod", "namespace": namespace}, stateless
            )
            if args.client == "rust":
                warm_errors = rust_load.warm_up(args.loadgen, spec, 50)
            else:
                warm_errors = asyncio.run(http_load.warm_up(spec, 50))
            if warm_errors:
                log(f"warm-up errors ({mode}): {warm_errors[0]}")
            for n in sessions:
                log(f"HTTP {mode}: {n} sessions × {args.calls} calls (cap {args.cap:.0f} s)")
                if args.client == "rust":
                    result = rust_load.run_level(args.loadgen, spec, n, args.calls, args.cap)
                else:
                    result = asyncio.run(http_load.run_level(spec, n, args.calls, args.cap))
                levels.append((mode, result))
                ok, failed = len(result.latencies), len(result.errors)
                log(f"  {ok} ok, {failed} errors in {result.wall_s:.1f} s")
        finally:
            procs.stop(proc)
    return levels


def header(
    binary: Path, snapshot: str, note: str, loads: list[tuple[float, float, float]], client: str
) -> str:
    rev = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    cpu = models[0] if models else platform.machine()
    load = " → ".join("/".join(f"{x:.1f}" for x in avg) for avg in loads)
    shown = binary.relative_to(ROOT) if binary.is_relative_to(ROOT) else binary
    lines = [
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC at commit "
        f"{rev.stdout.strip() or '?'} ({shown}), "
        f"on {os.cpu_count()} × {cpu}; "
        f"load average (1/5/15 min) {load}. Client and servers share these cores; "
        f"the HTTP client {client} (single-threaded).",
        f"Snapshot `{snapshot}`" + (f" (fallback: {note})" if note else "") + f"; tool `{TOOL}`.",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    args = parse_args()
    atexit.register(procs.kill_all)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    binary = Path(args.binary).resolve()
    if not binary.exists():
        raise SystemExit(f"{binary} missing: build it with cargo build --release -p eks-ops-mcp")
    tmp = Path(tempfile.mkdtemp(prefix="eks-ops-bench-"))
    try:
        return run(args, binary, tmp)
    finally:
        procs.kill_all()
        shutil.rmtree(tmp, ignore_errors=True)


def run(args, binary: Path, tmp: Path) -> int:
    loads = [os.getloadavg()]
    if args.client == "rust":
        log("building the http_load bench (release profile)")
        args.loadgen = rust_load.build()
        client = f"is the Rust load generator `{args.loadgen.name}` (benches/http_load.rs)"
    else:
        loop = http_load.event_loop_name()
        client = f"runs on Python {platform.python_version()} with the {loop}"
    env = isolated_env(tmp)
    snapshot, note = pick_snapshot(binary, args.snapshot, args.namespace, env)
    servers = [peers.ours(binary)]
    if not args.no_peers:
        work = Path(args.work)
        log("peers: checking registries and pinned installs")
        servers.append(
            peers.eks_mcp_server(work / "bench-venv", args.eks_version, not args.no_install)
        )
        servers.append(
            peers.kubernetes_mcp_server(work / "bench-npm", args.k8s_version, not args.no_install)
        )
    extras = {"eks-ops-mcp": ["serve", "--snapshot", snapshot]}
    stdio = [(s, measure_stdio(s, extras.get(s.name, []), env, tmp, args)) for s in servers]
    levels = measure_calls(binary, snapshot, args.namespace, env, tmp, args)
    loads.append(os.getloadavg())
    markdown = render(header(binary, snapshot, note, loads, client), servers, stdio, levels, args)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(markdown)
    print(markdown)
    log(f"wrote {out}")
    return 0


def render(head: str, servers, stdio, levels, args) -> str:
    versions = "\n".join(
        f"- {s.name}: measured {s.version} from {s.source}"
        + (f"; registry latest {s.registry_latest}" if s.name != "eks-ops-mcp" else "")
        for s in servers
    )
    return (
        "## Server benchmarks\n\n" + head + "\n" + versions + "\n\n"
        "### Cold start and footprint over stdio "
        "(spawn → initialize → initialized → tools/list)\n\n"
        f"Median of up to {args.runs} cold starts after one discarded warm-up, each server "
        "spawned the same way with the same isolated environment and default flags. "
        "In parentheses: peer ÷ eks-ops-mcp.\n\n"
        + report.stdio_table(stdio)
        + "\n### tools/call latency and throughput of eks-ops-mcp\n\n"
        f"`{TOOL}` {{kind: Pod, namespace: {args.namespace}}}. `stdio`: one process, "
        f"{args.stdio_calls} sequential calls (the tool's cost without HTTP). HTTP: streamable "
        "HTTP, one keep-alive connection per session; each session initializes, then "
        f"{args.calls} calls in a loop; {args.cap:.0f} s cap per level. Latency is client-side, "
        "request written to whole response read.\n\n"
        + report.http_table(levels)
        + "\n### Targets (issue 2 §7; reported, not asserted)\n\n"
        + report.targets_table(stdio[0][1], levels)
        + "\n### Summary, side by side (ratio to eks-ops-mcp in parentheses)\n\n"
        + report.summary_table(stdio, levels)
    )


if __name__ == "__main__":
    sys.exit(main())
