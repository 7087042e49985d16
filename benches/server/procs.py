"""Child processes of the harness: spawning, /proc readings, and killing every one by PID.

Every process the harness starts goes through `spawn`, which records it, so `kill_all` at exit
(normal, error or Ctrl-C) leaves nothing behind. Each child leads its own process group, so a
server that forks helpers is stopped with them, by its own group id and never by name.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

_STARTED: list[subprocess.Popen] = []
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def spawn(argv: list[str], env: dict[str, str], cwd: Path, stderr_path: Path) -> subprocess.Popen:
    """Starts `argv` with piped stdin/stdout and stderr to a file (a full pipe would block it)."""
    with open(stderr_path, "ab") as err:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
    _STARTED.append(proc)
    return proc


def stop(proc: subprocess.Popen, grace: float = 2.0) -> None:
    """Closes stdin (the polite stdio shutdown), then SIGTERM, then SIGKILL to its group."""
    for stream in (proc.stdin, proc.stdout):
        try:
            if stream:
                stream.close()
        except OSError:
            pass
    if _wait(proc, grace):
        _signal_group(proc.pid, signal.SIGKILL)  # reap helpers the leader left behind
        return
    _signal_group(proc.pid, signal.SIGTERM)
    if not _wait(proc, grace):
        _signal_group(proc.pid, signal.SIGKILL)
        _wait(proc, grace)


def kill_all() -> None:
    """Stops every process the harness started that may still be running."""
    while _STARTED:
        proc = _STARTED.pop()
        if proc.returncode is None:
            stop(proc, grace=1.0)
        else:
            _signal_group(proc.pid, signal.SIGKILL)


def _wait(proc: subprocess.Popen, timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it, from the parent links in /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            ppid = _ppid(entry)
            if ppid is not None:
                children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


def _ppid(entry: Path) -> int | None:
    try:
        stat = (entry / "stat").read_text()
    except OSError:
        return None
    # The command name may contain spaces and parentheses: fields start after the last ')'.
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[1]) if len(fields) > 1 else None


def memory_kb(pid: int) -> tuple[int, int, int]:
    """(VmRSS, VmHWM, processes) summed over the process tree rooted at `pid`, in kB."""
    rss = hwm = count = 0
    for member in descendants(pid):
        status = _status(member)
        if status:
            rss += status.get("VmRSS", 0)
            hwm += status.get("VmHWM", 0)
            count += 1
    return rss, hwm, count


def _status(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM") and rest.split():
            values[key] = int(rest.split()[0])
    return values


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (threads included)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[-1].split()
    # After the ')' field 0 is state, so utime and stime (stat fields 14 and 15) are 11 and 12.
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def wait_for_line(path: Path, needle: str, proc: subprocess.Popen, timeout: float) -> str | None:
    """The first line of `path` containing `needle`; None on `timeout` or when the process exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for line in path.read_text(errors="replace").splitlines():
                if needle in line:
                    return line
        except OSError:
            pass
        if proc.poll() is not None:
            return None
        time.sleep(0.01)
    return None
