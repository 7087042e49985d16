"""Time inside the generator: integer Unix milliseconds, UTC, and the text forms bundles use."""

from datetime import datetime, timezone

SECOND = 1000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR


def ms(text):
    """`2026-11-20T14:30:00Z` (or `...14:30:00.250Z`) as Unix milliseconds."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return int(dt.timestamp() * 1000)


def _dt(t_ms):
    return datetime.fromtimestamp(t_ms / 1000, tz=timezone.utc)


def iso(t_ms):
    """Whole seconds, as the API server writes object and event times."""
    return _dt(t_ms).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_ms(t_ms):
    """Millisecond precision, as CloudWatch Logs stores event times."""
    return _dt(t_ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t_ms % 1000:03d}Z"


def iso_ns(t_ms, extra_ns):
    """Nanosecond precision, as `kubectl logs --timestamps` prints."""
    return _dt(t_ms).strftime("%Y-%m-%dT%H:%M:%S.") + f"{(t_ms % 1000) * 1_000_000 + extra_ns:09d}Z"


def day(t_ms):
    return _dt(t_ms).strftime("%Y-%m-%d")


def hour_of_day(t_ms):
    """Fractional UTC hour, for diurnal shapes."""
    return (t_ms % DAY) / HOUR


def grid(start, end, step):
    """Sample times from `start` (aligned up to `step`) to `end`, inclusive."""
    first = -(-start // step) * step
    return list(range(first, end + 1, step))
