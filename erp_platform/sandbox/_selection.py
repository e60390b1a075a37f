"""What a response held besides the selected records, and masking of continuation tokens for display.

Used to refuse a *silent zero* (a page whose response held records the SDK's selector did not find)
and to show paging state without leaking secrets a next link may carry in its query.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from erp_platform._errors import mask_secret

#: Arrays that hold messages about a response, never its records.
MESSAGE_ARRAYS = frozenset({
    "warnings", "errors", "messages", "validationerrors", "links", "_links", "notifications", "problems",
    "infos", "faults", "details", "alerts",
})
_MAX_DEPTH = 3


def held_arrays(document: Any, selector: tuple[str, ...] | list[str]) -> tuple[tuple[str, int], ...]:
    """``(path, items)`` of every non-empty array of objects in ``document`` (up to 3 levels deep), except
    the selected one and arrays of messages (``Warnings``, ``errors``), largest first."""
    found: list[tuple[str, int]] = []
    chosen = ".".join(selector)

    def visit(node: Any, path: str, depth: int) -> None:
        if isinstance(node, list):
            if path != chosen and node and any(isinstance(item, dict) for item in node[:10]):
                name = path.rsplit(".", 1)[-1].lower()
                if name not in MESSAGE_ARRAYS:
                    found.append((path or "(the body)", len(node)))
            return
        if isinstance(node, dict) and depth < _MAX_DEPTH:
            for key, value in node.items():
                visit(value, f"{path}.{key}" if path else str(key), depth + 1)

    visit(document, "", 0)
    found.sort(key=lambda item: (-item[1], item[0]))
    return tuple(found[:5])


def describe_held(held: tuple[tuple[str, int], ...]) -> str:
    """``25 items under `Contacts``` (and more, comma-separated)."""
    return ", ".join(f"{count} item{'s' if count != 1 else ''} under `{path}`" for path, count in held)


def mask_token(token: str | None) -> str:
    """A continuation token safe to show: next links keep scheme, host and path with query values masked;
    opaque cursors keep their first characters and length."""
    if token is None:
        return "none (last page)"
    kind, rest = token[:1], token[1:]
    if kind == "L":
        parts = urlsplit(rest)
        query = urlencode([(k, mask_secret(v)) for k, v in parse_qsl(parts.query, keep_blank_values=True)])
        return "next link " + urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    if kind in "SPOQ" and rest.replace(":", "").isdigit():
        what = {"S": "skip", "P": "page", "O": "offset", "Q": "page"}[kind]
        return f"{what} {rest.split(':', 1)[0]}"
    return f"cursor {mask_secret(rest)} ({len(rest)} characters)"
