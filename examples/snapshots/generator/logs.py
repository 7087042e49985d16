"""Container logs as `kubectl logs --timestamps` prints them, and their CloudWatch Logs copy.

`kubectl logs` serves the running instance, or the last terminated one while the kubelet holds a
crashed container back; `--previous` serves the last terminated instance. Fluent Bit ships every
instance to the application log group, including those of pods deleted before the capture.
"""

import json

from .clock import iso_ms, iso_ns


class LogBook:
    def __init__(self, b):
        self.b = b
        self._cache = {}

    def lines(self, pod, c, i):
        """[(t_ms, text)] of run `i`, inside the capture window, oldest first."""
        key = (pod.name, c.name, i)
        if key not in self._cache:
            run = c.runs[i]
            rng = self.b.rng_for(f"logs/{pod.name}/{c.name}/{i}")
            raw = c.logs(pod, c, i, run, rng, (self.b.start, self.b.end)) if c.logs else []
            stop = min(run.end if run.end is not None else self.b.end, self.b.end)
            self._cache[key] = sorted((t, text) for t, text in raw
                                      if max(run.start, self.b.start) <= t <= stop)
        return self._cache[key]

    def kubectl_files(self):
        """{relative path: text} for pods that exist at capture."""
        files = {}
        for pod in self.b.pods:
            if not pod.exists_at(self.b.end) or not pod.node:
                continue
            for c in pod.containers:
                started = [i for i, r in enumerate(c.runs) if r.start <= self.b.end]
                if not started:
                    continue
                last = started[-1]
                run = c.runs[last]
                base = f"logs/{pod.namespace}/{pod.name}/{c.name}"
                files[base + ".log"] = self._text(pod, c, last)
                crashed_waiting = run.end is not None and run.end <= self.b.end and \
                    pod.restart_policy == "Always"
                previous = last if crashed_waiting else last - 1
                if previous >= 0:
                    files[base + ".previous.log"] = self._text(pod, c, previous)
        return files

    def _text(self, pod, c, i):
        rng = self.b.rng_for(f"ns/{pod.name}/{c.name}/{i}")
        return "".join(f"{iso_ns(t, rng.randrange(10**6))} {text}\n" for t, text in self.lines(pod, c, i))

    def cloudwatch(self):
        """Lines of the application log group: `<RFC 3339> <stream> <message>`."""
        events = []
        for pod in self.b.pods:
            if pod.namespace not in self.b.app_namespaces or not pod.node:
                continue
            for c in pod.containers:
                for i, run in enumerate(c.runs):
                    if run.start > self.b.end:
                        continue
                    stream = (f"{pod.node.name}-application.var.log.containers."
                              f"{pod.name}_{pod.namespace}_{c.name}-{run.id.split('//')[1]}.log")
                    for t, text in self.lines(pod, c, i):
                        events.append((t, stream, self._message(pod, c, text)))
        events.sort()
        return "".join(f"{iso_ms(t)} {stream} {msg}\n" for t, stream, msg in events)

    def _message(self, pod, c, text):
        doc = {"log": text, "stream": "stdout",
               "kubernetes": {"pod_name": pod.name, "namespace_name": pod.namespace,
                              "container_name": c.name, "host": pod.node.name}}
        return json.dumps(doc, separators=(",", ":"))
