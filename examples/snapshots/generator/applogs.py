"""What applications print: a start-up sequence, then lines at a rate that follows traffic.

Formats follow real stacks: Spring Boot's console pattern for the JVM services, zap-style JSON
for the Go services, and the servers' own formats for Redis and PostgreSQL.
"""

import json

from .clock import SECOND, iso_ms


def spring(app):
    def fmt(t, level, logger, msg, rng, fields):
        if level == "RAW":  # continuation lines of a stack trace
            return msg
        thread = fields.get("thread") or f"nio-8080-exec-{rng.randrange(1, 11)}"
        return f"{iso_ms(t)} {level:>5} 1 --- [{app}] [{thread:>15}] {logger:<40.40} : {msg}"
    return fmt


def zap(t, level, logger, msg, rng, fields):
    doc = {"level": level.lower(), "ts": iso_ms(t), "caller": logger, "msg": msg, **fields}
    return json.dumps(doc, separators=(",", ":"))


class AppLog:
    """A container's log as a callable for `model.Container.logs`.

    `startup` is [(offset ms, level, logger, message)]; `templates` is
    [(weight, level, logger, fn(rng, t) -> message or (message, fields))]; `per_minute` lines
    at load 1.0; `extra(pod, c, i, run, rng, window)` adds scenario lines as
    [(t, level, logger, message, fields)].
    """

    def __init__(self, fmt, startup=(), templates=(), per_minute=2.0, load=None, extra=None):
        self.fmt, self.startup, self.templates = fmt, list(startup), list(templates)
        self.per_minute, self.load, self.extra = per_minute, load or (lambda t: 1.0), extra

    def __call__(self, pod, c, i, run, rng, window):
        lo = max(run.start, window[0])
        hi = min(run.end if run.end is not None else window[1], window[1])
        rows = [(run.start + off, lvl, lg, msg, {}) for off, lvl, lg, msg in self.startup]
        rows += self._periodic(lo, hi, rng)
        if self.extra:
            rows += self.extra(pod, c, i, run, rng, window)
        return [(t, self.fmt(t, lvl, lg, msg, rng, fields)) for t, lvl, lg, msg, fields in sorted(
            rows, key=lambda r: r[0]) if run.start <= t and (run.end is None or t <= run.end)]

    def _periodic(self, lo, hi, rng):
        rows, t = [], lo
        total = sum(w for w, *_ in self.templates)
        while self.templates and t < hi:
            rate = self.per_minute * max(self.load(t), 0.05) / 60_000
            t += int(rng.expovariate(rate)) + 1
            if t >= hi:
                break
            pick = rng.random() * total
            for weight, level, logger, fn in self.templates:
                pick -= weight
                if pick <= 0:
                    msg = fn(rng, t)
                    msg, fields = msg if isinstance(msg, tuple) else (msg, {})
                    rows.append((t, level, logger, msg, fields))
                    break
        return rows


def spring_startup(app, version, main_class, *, boot_seconds=9.0, extra=()):
    """Spring Boot start-up lines, spread over `boot_seconds`."""
    steps = [
        (0.9, "INFO", f"c.s.{app}.{main_class}",
         f"Starting {main_class} v{version} using Java 21.0.5 with PID 1 "
         "(/app/app.jar started by app in /app)"),
        (0.95, "INFO", f"c.s.{app}.{main_class}", 'The following 1 profile is active: "prod"'),
        (3.1, "INFO", "o.s.b.w.embedded.tomcat.TomcatWebServer", "Tomcat initialized with port 8080 (http)"),
        (4.2, "INFO", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Starting..."),
        (4.6, "INFO", "com.zaxxer.hikari.HikariDataSource", "HikariPool-1 - Start completed."),
        *extra,
        (boot_seconds - 0.4, "INFO", "o.s.b.w.embedded.tomcat.TomcatWebServer",
         "Tomcat started on port 8080 (http) with context path '/'"),
        (boot_seconds, "INFO", f"c.s.{app}.{main_class}",
         f"Started {main_class} in {boot_seconds:.3f} seconds "
         f"(process running for {boot_seconds + 0.6:.3f})"),
    ]
    return [(int(s * SECOND), lvl, lg, msg) for s, lvl, lg, msg in steps]


def order_id(rng):
    return f"ord_{rng.getrandbits(48):012x}"


def ms_text(rng, base, spread=0.35):
    return int(base * rng.lognormvariate(0, spread))
