"""The servers compared: ours, awslabs `eks-mcp-server` (PyPI) and `kubernetes-mcp-server` (npm).

Installs are pinned and idempotent (a venv and an npm prefix under .ci/work, skipped when the
pinned version is already there). A peer that cannot be installed or found becomes a `Server`
with `argv=None` and the reason, which the report prints instead of numbers.
"""

from __future__ import annotations

import json
import platform
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

EKS_PACKAGE = "awslabs.eks-mcp-server"
K8S_PACKAGE = "kubernetes-mcp-server"


@dataclass
class Server:
    name: str
    source: str  # where it came from, for the report
    version: str
    argv: list[str] | None
    reason: str = ""  # why argv is None
    registry_latest: str = "?"


def run(argv: list[str], timeout: float, cwd: Path | None = None) -> tuple[int, str]:
    """Exit code and combined output; a missing program or a timeout is an exit code too."""
    try:
        done = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
        return done.returncode, (done.stdout + done.stderr).strip()
    except FileNotFoundError:
        return 127, f"{argv[0]} not found"
    except subprocess.TimeoutExpired:
        return 124, f"{' '.join(argv[:3])} timed out after {timeout:.0f} s"


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:160] if lines else "(no output)"


def first_error(text: str) -> str:
    """The first line naming the error (pip `ERROR: ...`, npm `npm error notarget ...`)."""
    for line in text.splitlines():
        lowered = line.lower()
        if "error" in lowered and not lowered.startswith("npm error code"):
            return line.strip()[:200]
    return last_line(text)


def ours(binary: Path) -> Server:
    code, out = run([str(binary), "--version"], 30)
    if code != 0:
        return Server("eks-ops-mcp", "this repo", "?", None, f"--version failed: {last_line(out)}")
    build = "release build" if "/release/" in str(binary) else f"binary {binary}"
    return Server("eks-ops-mcp", f"this repo, {build}", out.split()[-1], [str(binary)])


def pypi_latest(package: str) -> str:
    code, out = run([sys.executable, "-m", "pip", "index", "versions", package], 60)
    match = re.search(re.escape(package) + r" \(([^)]+)\)", out) if code == 0 else None
    return match.group(1) if match else f"unknown ({last_line(out)})"


def npm_latest(package: str) -> str:
    code, out = run(["npm", "view", package, "version"], 60)
    return (
        out.strip().splitlines()[-1] if code == 0 and out.strip() else f"unknown ({last_line(out)})"
    )


def eks_mcp_server(venv: Path, version: str, install: bool) -> Server:
    latest = pypi_latest(EKS_PACKAGE) if install else "not asked (--no-install)"
    wanted = latest if version == "latest" else version
    python = venv / "bin" / "python"
    have = _venv_version(python, EKS_PACKAGE)
    if have != wanted and install:
        reason = _pip_install(venv, f"{EKS_PACKAGE}=={wanted}")
        if reason:
            return Server("awslabs eks-mcp-server", "PyPI", wanted, None, reason, latest)
        have = _venv_version(python, EKS_PACKAGE)
    script = venv / "bin" / EKS_PACKAGE
    if not have or not script.exists():
        why = (
            "not installed (run without --no-install)" if not install else "console script missing"
        )
        return Server("awslabs eks-mcp-server", "PyPI", wanted, None, why, latest)
    return Server("awslabs eks-mcp-server", "PyPI", have, [str(script)], "", latest)


def _venv_version(python: Path, package: str) -> str | None:
    if not python.exists():
        return None
    code, out = run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"], 60
    )
    return out.strip() if code == 0 else None


def _pip_install(venv: Path, requirement: str) -> str:
    """Empty on success, else why it failed."""
    if not (venv / "bin" / "python").exists():
        code, out = run([sys.executable, "-m", "venv", str(venv)], 120)
        if code != 0:
            return f"python -m venv failed: {last_line(out)}"
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", requirement]
    code, out = run(pip, 600)
    return "" if code == 0 else f"pip install {requirement} failed: {first_error(out)}"


def kubernetes_mcp_server(prefix: Path, version: str, install: bool) -> Server:
    latest = npm_latest(K8S_PACKAGE) if install else "not asked (--no-install)"
    wanted = latest if version == "latest" else version
    have = _npm_version(prefix)
    if have != wanted and install:
        if shutil.which("npm") is None:
            return Server("kubernetes-mcp-server", "npm", wanted, None, "npm not found", latest)
        prefix.mkdir(parents=True, exist_ok=True)
        npm = ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix)]
        code, out = run(npm + [f"{K8S_PACKAGE}@{wanted}"], 600)
        if code != 0:
            why = f"npm install failed: {first_error(out)}"
            return Server("kubernetes-mcp-server", "npm", wanted, None, why, latest)
        have = _npm_version(prefix)
    binary = _platform_binary(prefix)
    if not have or binary is None:
        why = "not installed" if not have else f"no binary for {platform.machine()} in node_modules"
        return Server("kubernetes-mcp-server", "npm", wanted, None, why, latest)
    source = f"npm; its Go binary {binary.name} run directly, not through the node wrapper"
    return Server("kubernetes-mcp-server", source, have, [str(binary)], "", latest)


def _npm_version(prefix: Path) -> str | None:
    manifest = prefix / "node_modules" / K8S_PACKAGE / "package.json"
    try:
        return json.loads(manifest.read_text()).get("version")
    except (OSError, ValueError):
        return None


def _platform_binary(prefix: Path) -> Path | None:
    """The Go binary the npm wrapper would exec, from the optional per-platform package."""
    arch = {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(platform.machine())
    if arch is None:
        return None
    folder = prefix / "node_modules" / f"{K8S_PACKAGE}-linux-{arch}" / "bin"
    candidates = sorted(folder.glob(f"{K8S_PACKAGE}*")) if folder.is_dir() else []
    return candidates[0] if candidates else None
