"""Hand-written YAML emission, so the generator needs only the standard library.

Block style with indentless sequences, the way `kubectl get -o yaml` prints. A string is written
plain only when no YAML 1.1 or 1.2 reader could take it for anything but a string; everything
else is double-quoted with JSON escapes, which are valid YAML escapes. Multi-line strings use
literal blocks so ConfigMap files and stack traces stay readable.
"""

import json
import re

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_./()@=+-]*(?: [A-Za-z0-9_./()@=+-]+)*")
# YAML 1.1 readers (PyYAML, older Go libraries) turn these into booleans or null.
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def scalar(value):
    """One scalar as YAML text, for a single line."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot emit {type(value).__name__} as YAML")
    if _PLAIN.fullmatch(value) and value.lower() not in _RESERVED:
        return value
    return json.dumps(value)


def _float(value):
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("NaN and infinities have no place in a bundle")
    text = repr(value)
    # PyYAML reads `1e-05` as a string: YAML 1.1 floats need a dot and a signed exponent.
    if "e" in text or "E" in text:
        text = f"{value:.12f}".rstrip("0")
    return text if "." in text else text + ".0"


def _literal_ok(text):
    if "\n" not in text or text.startswith((" ", "\n")) or text.endswith("\n\n"):
        return False
    lines = text.split("\n")
    return all(line == line.rstrip() and line.isprintable() for line in lines)


def _value_lines(key_text, value, indent, sort):
    pad = " " * indent
    if isinstance(value, dict) and value:
        return [f"{pad}{key_text}:"] + _lines(value, indent + 2, sort)
    if isinstance(value, list) and value:
        return [f"{pad}{key_text}:"] + _lines(value, indent, sort)
    if isinstance(value, dict):
        return [f"{pad}{key_text}: {{}}"]
    if isinstance(value, list):
        return [f"{pad}{key_text}: []"]
    if isinstance(value, str) and _literal_ok(value):
        chomp = "" if value.endswith("\n") else "-"
        body = value[:-1] if value.endswith("\n") else value
        return [f"{pad}{key_text}: |{chomp}"] + [
            (f"{pad}  {line}" if line else "") for line in body.split("\n")
        ]
    return [f"{pad}{key_text}: {scalar(value)}"]


def _item_lines(item, indent, sort):
    pad = " " * indent
    if isinstance(item, (dict, list)) and item:
        inner = _lines(item, indent + 2, sort)
        if isinstance(item, list):
            return [f"{pad}-"] + inner
        return [f"{pad}- {inner[0][indent + 2:]}"] + inner[1:]
    if isinstance(item, str) and "\n" in item:
        return [f"{pad}- {json.dumps(item)}"]
    if isinstance(item, dict):
        return [f"{pad}- {{}}"]
    if isinstance(item, list):
        return [f"{pad}- []"]
    return [f"{pad}- {scalar(item)}"]


def _lines(value, indent, sort):
    if isinstance(value, dict):
        out = []
        for key, child in (sorted(value.items()) if sort else value.items()):
            if not isinstance(key, str):
                raise TypeError(f"mapping keys must be strings, got {key!r}")
            out.extend(_value_lines(scalar(key), child, indent, sort))
        return out
    if isinstance(value, list):
        out = []
        for item in value:
            out.extend(_item_lines(item, indent, sort))
        return out
    return [" " * indent + scalar(value)]


def dump(document, sort_keys=False):
    """One YAML document, ending with a newline. `sort_keys` orders every mapping by key, as
    `kubectl get -o yaml` prints API objects."""
    return "\n".join(_lines(document, 0, sort_keys)) + "\n"


def dump_stream(documents, sort_keys=False):
    """A YAML stream: documents separated by `---` lines."""
    return "---\n".join(dump(doc, sort_keys) for doc in documents)
