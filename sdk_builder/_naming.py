"""Turning untrusted spec names into safe, stable Python identifiers."""

from __future__ import annotations

import keyword
import re
from collections.abc import Iterable

_CAMEL_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^0-9A-Za-z]+")
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: Names generated code must not bind (the security scan refuses them as names): parameters and fields named
#: like these get another name (``open`` -> ``open_2``, or an alias on the record model).
PARAMETER_RESERVED = frozenset({
    "self", "eval", "exec", "compile", "__import__", "open", "globals", "locals", "vars", "getattr", "setattr",
    "delattr", "breakpoint", "input", "help", "exit", "quit", "memoryview",
})


def snake_case(text: str, *, fallback: str = "x") -> str:
    """``listCompanies`` -> ``list_companies``, ``Create or Update Account`` -> ``create_or_update_account``.

    The result is always a valid, non-keyword Python identifier made of ``[a-z0-9_]`` that does not start
    with an underscore or a digit.
    """
    text = text.encode("ascii", "ignore").decode("ascii")
    text = _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", text))
    words = [w for w in _NON_WORD.split(text) if w]
    name = "_".join(w.lower() for w in words) or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name):
        name += "_"
    return name


def class_name(text: str, *, fallback: str = "Record") -> str:
    """A CamelCase class name: ``customer`` -> ``Customer``, ``A_TestEntityType`` stays as it is."""
    text = text.encode("ascii", "ignore").decode("ascii")
    if _IDENTIFIER.match(text) and not keyword.iskeyword(text):
        return text[0].upper() + text[1:]
    words = [w for w in _NON_WORD.split(text) if w]
    name = "".join(w[0].upper() + w[1:] for w in words) or fallback
    if name[0].isdigit():
        name = fallback + name
    return name


def is_plain_identifier(text: str) -> bool:
    """True for names usable as-is as Python attributes (no leading underscore, no keyword)."""
    return bool(_IDENTIFIER.match(text)) and not keyword.iskeyword(text) and not keyword.issoftkeyword(text)


class NameAllocator:
    """Hands out unique names in a deterministic order: ``x``, ``x_2``, ``x_3`` ..."""

    def __init__(self, reserved: Iterable[str] = ()) -> None:
        self._taken: set[str] = set(reserved)

    def take(self, name: str) -> str:
        """Reserve ``name`` or the first free ``name_<n>`` and return it."""
        candidate, n = name, 1
        while candidate in self._taken:
            n += 1
            candidate = f"{name}_{n}"
        self._taken.add(candidate)
        return candidate


def default_name(filename: str) -> str:
    """The default SDK name: the file name without folders and extensions, snake_case."""
    return snake_case(filename.replace("\\", "/").rsplit("/", 1)[-1].split(".")[0], fallback="sdk")
