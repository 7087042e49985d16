"""Deterministic generator of the bundled incident snapshots (see ../README.md for the format)."""
