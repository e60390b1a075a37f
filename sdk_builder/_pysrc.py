"""Writing untrusted spec text into Python source safely: literals, docstrings, identifiers."""

from __future__ import annotations

import ast
import keyword
from typing import Any

from sdk_builder._errors import GenerationError


def literal(value: Any) -> str:
    """A Python literal for a str / int / float / bool / None / tuple / list / dict of those (via repr)."""
    if isinstance(value, str):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, tuple):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    raise GenerationError(f"cannot write a {type(value).__name__} as a Python literal")


def identifier(name: str) -> str:
    """Assert that a generated name is a plain identifier (names come from sdk_builder._naming)."""
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("__"):
        raise GenerationError(f"generated name {name!r} is not a safe Python identifier")
    return name


def clean_text(text: str, *, max_lines: int = 12, max_chars: int = 1500) -> str:
    """Spec prose reduced to printable characters and newlines, bounded in size."""
    text = "".join(ch if ch.isprintable() or ch == "\n" else " " for ch in text.replace("\r\n", "\n"))
    lines = [line.rstrip() for line in text.strip().split("\n")]
    while "" in lines[:1]:
        lines.pop(0)
    text = "\n".join(lines[:max_lines])
    return text if len(text) <= max_chars else text[: max_chars - 3].rstrip() + "..."


def docstring(text: str, indent: str) -> str:
    """A docstring for untrusted text: quotes and backslashes escaped, verified by parsing it back."""
    content = clean_text(text) or "Generated operation."
    lines = content.split("\n")
    rest = [indent + line if line else "" for line in lines[1:]]
    body = "\n".join([lines[0], *rest])
    if len(lines) > 1:
        body += "\n" + indent
    escaped = body.replace("\\", "\\\\").replace('"', '\\"')
    source = f'"""{escaped}"""'
    try:
        ok = ast.literal_eval(source) == body
    except (ValueError, SyntaxError):
        ok = False
    return source if ok else repr(body)
