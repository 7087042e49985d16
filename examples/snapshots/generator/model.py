"""What the generator simulates: nodes, pods and the runs of their containers.

A scenario describes a cluster as plain records; `bundle.py` turns them into API objects, events,
logs and metrics, so all four always agree on who ran where and when.
"""

from dataclasses import dataclass, field

from .clock import MINUTE, SECOND

MAX_BACKOFF = 300 * SECOND


@dataclass
class Node:
    name: str
    ip: str
    zone: str
    zone_id: str
    nodegroup: str
    instance_type: str
    capacity_type: str  # ON_DEMAND or SPOT
    created: int
    subnet: str = ""  # CIDR of the node's subnet; the VPC CNI gives pods addresses from it
    labels: dict = field(default_factory=dict)  # the node group's Kubernetes labels
    instance_id: str = ""
    uid: str = ""
    # CPU cores and bytes used outside pods (kubelet, containerd, the OS), for node utilisation.
    system_cores: float = 0.12
    system_bytes: float = 650 * 2**20
    filesystem_percent: float = 31.0
    conditions: dict = field(default_factory=dict)  # overrides: type -> (status, reason, message, since)


@dataclass
class Run:
    """One run of a container, from its start to its termination (None: still running)."""

    start: int
    end: int | None = None
    reason: str | None = None  # OOMKilled, Error, Completed
    exit_code: int | None = None
    ready_after: int = 0  # ms after start until the readiness probe first passes
    id: str = ""


@dataclass
class Container:
    spec: dict
    runs: list = field(default_factory=list)
    # At capture, for a container that never started: (reason, message).
    waiting: tuple | None = None
    profile: object = None  # signals while running: see signals.Profile
    # callable(pod, container, run_index, run, rng, (window start, end)) -> [(t_ms, text)]
    logs: object = None
    image_id: str = ""
    pulled_in: float = 0.0  # seconds the first pull took; 0 when the image was already present

    @property
    def name(self):
        return self.spec["name"]

    def run_at(self, t):
        """Index of the run active at `t`, or None."""
        for i, run in enumerate(self.runs):
            if run.start <= t and (run.end is None or t < run.end):
                return i
        return None

    def restarts_at(self, t):
        return max(0, sum(1 for run in self.runs if run.start <= t) - 1)

    def ready_at(self, t):
        i = self.run_at(t)
        return i is not None and t >= self.runs[i].start + self.runs[i].ready_after


@dataclass
class Pod:
    name: str
    namespace: str
    node: Node | None
    created: int
    containers: list
    workload: str  # owning Deployment/StatefulSet/DaemonSet/CronJob, the `workload` label
    owner: dict | None = None  # ownerReference
    labels: dict = field(default_factory=dict)
    annotations: dict = field(default_factory=dict)
    spec: dict = field(default_factory=dict)  # pod-level spec fields besides containers
    ip: str = ""
    uid: str = ""
    deleted: int | None = None  # when deletion started; the object is gone after `gone`
    gone: int | None = None
    restart_policy: str = "Always"
    scheduled: int | None = None
    events: bool = True
    # (reason, message) of the PodScheduled condition when the scheduler found no node.
    unschedulable: tuple | None = None

    def exists_at(self, t):
        return self.created <= t and (self.gone is None or t < self.gone)

    def by_name(self, name):
        return next(c for c in self.containers if c.name == name)


class Backoff:
    """The kubelet's crash-loop back-off for one container.

    A container that crashes more than ten minutes after its previous crash is restarted at once;
    otherwise the kubelet waits 10 s, doubling each time up to five minutes.
    """

    def __init__(self):
        self.backoff, self.last = 0, None

    def after_crash(self, end):
        """Wait (ms) before the restart that follows a crash at `end`."""
        if self.last is None or end - self.last > 2 * MAX_BACKOFF:
            wait, self.backoff = SECOND, 10 * SECOND
        else:
            wait, self.backoff = self.backoff, min(2 * self.backoff, MAX_BACKOFF)
        self.last = end
        return wait


def crash_loop(first_start, lifetimes, end_reason="Error", exit_code=1, ready_after=0):
    """Runs of a container that crashes after each of `lifetimes` (ms); returns them and the
    time of the next start."""
    runs, start, backoff = [], first_start, Backoff()
    for life in lifetimes:
        end = start + life
        runs.append(Run(start, end, end_reason, exit_code, ready_after))
        start = end + backoff.after_crash(end)
    return runs, start


def backoff_after(runs):
    """The wait the kubelet applies after the last of `runs` ended (for the waiting message)."""
    backoff, wait = Backoff(), 0
    for run in runs:
        wait = backoff.after_crash(run.end)
    return wait


def minutes(n):
    return int(n * MINUTE)
