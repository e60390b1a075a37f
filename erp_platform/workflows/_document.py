"""Reading a YAML or JSON document (a workflow definition or a mapping) into plain data.

YAML is read with the YAML 1.2 core schema, not PyYAML's YAML 1.1 default: ``on``, ``yes`` and ``no`` stay
strings (a join's ``on:`` key would otherwise become ``True``), dates stay strings (as in JSON), and ``010``
is ten. So the same document written in YAML or JSON gives the same data, hence the same content hash.
Duplicate keys and aliases (``*name``, the "billion laughs" vector) are refused with their line and column.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

from erp_platform._errors import InvalidInputError

MAX_DOCUMENT_BYTES = 1024 * 1024
_JSON_SUFFIXES = (".json",)
_YAML_SUFFIXES = (".yaml", ".yml")


class DocumentSyntaxError(InvalidInputError):
    """A document is not valid YAML / JSON; the message names the file, line and column (1-based)."""

    def __init__(self, filename: str, line: int | None, column: int | None, problem: str) -> None:
        self.filename = filename
        self.line = line
        self.column = column
        self.problem = problem
        where = filename if line is None else f"{filename}, line {line}, column {column}"
        super().__init__(f"{where}: {problem}")


class _CoreLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars, no aliases and no duplicate keys."""

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.MarkedYAMLError(
                problem="YAML aliases (*name) are not supported: write the value out in full",
                problem_mark=event.start_mark,
            )
        return super().compose_node(parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[object, Node] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:
                raise yaml.MarkedYAMLError(
                    problem="a mapping key must be a plain value (text or number), not a list or mapping",
                    problem_mark=key_node.start_mark,
                ) from None
            if first is not None:
                raise yaml.MarkedYAMLError(
                    problem=f"duplicate key {key!r} (first defined on line {first.start_mark.line + 1}): "
                    "keep only one",
                    problem_mark=key_node.start_mark,
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _construct_int(loader: yaml.SafeLoader, node: ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)


def _construct_float(loader: yaml.SafeLoader, node: ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    if text.endswith(".inf"):
        return float("-inf") if text.startswith("-") else float("inf")
    if text == ".nan":
        return float("nan")
    return float(text)


# Replace (not extend) the implicit resolvers: only the YAML 1.2 core schema.
_CoreLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", list("tTfF")),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", list("-+0123456789")),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        list("-+0123456789."),
    ),
):
    _CoreLoader.add_implicit_resolver(_tag, re.compile(_pattern), _first)
_CoreLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_CoreLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def _decode(data: str | bytes, filename: str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DocumentSyntaxError(
            filename, None, None,
            f"the file is {len(raw):,} bytes; the limit is {MAX_DOCUMENT_BYTES:,}: split it into smaller "
            "files",
        )
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DocumentSyntaxError(
            filename, None, None,
            f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}): save it as "
            "UTF-8",
        ) from None


def _is_json(text: str, filename: str) -> bool:
    lower = filename.lower()
    if lower.endswith(_JSON_SUFFIXES):
        return True
    if lower.endswith(_YAML_SUFFIXES):
        return False
    return text.lstrip().startswith("{")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r} in one object: keep only one")
        result[key] = value
    return result


def _load_json(text: str, filename: str) -> object:
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise DocumentSyntaxError(filename, exc.lineno, exc.colno, f"invalid JSON: {exc.msg}") from None
    except ValueError as exc:
        raise DocumentSyntaxError(filename, None, None, f"invalid JSON: {exc}") from None


def _load_yaml(text: str, filename: str) -> object:
    try:
        return yaml.load(text, Loader=_CoreLoader)  # noqa: S506 - _CoreLoader is a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context and exc.problem:
            if exc.context.startswith("while "):
                started = exc.context_mark
                where = ""
                if started is not None and mark is not None and started.line != mark.line:
                    where = f" that starts on line {started.line + 1}"
                problem = f"{exc.problem} ({exc.context}{where})"
            else:
                problem = f"{exc.context}, {exc.problem}"
        hint = _yaml_hint(problem)
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        raise DocumentSyntaxError(filename, line, column, f"invalid YAML: {problem}{hint}") from None
    except yaml.YAMLError as exc:
        raise DocumentSyntaxError(filename, None, None, f"invalid YAML: {exc}") from None


def _yaml_hint(problem: str) -> str:
    if "mapping values are not allowed" in problem:
        return "; check the indentation, and quote values that contain ': '"
    if "found character '\\t'" in problem:
        return "; YAML indentation must use spaces, not tabs"
    if "expected a single document" in problem:
        return "; put one definition per file (remove the '---' separator)"
    return ""


def load_document(data: str | bytes, *, filename: str, what: str = "document") -> dict[str, Any]:
    """Parse YAML or JSON text (chosen by the file suffix, else by content) into a dict.

    Raises:
        DocumentSyntaxError: not UTF-8, not valid YAML/JSON (with line and column), duplicate keys,
            aliases, too large, or the top level is not a mapping.
    """
    text = _decode(data, filename)
    loaded = _load_json(text, filename) if _is_json(text, filename) else _load_yaml(text, filename)
    if not isinstance(loaded, dict):
        kind = "empty" if loaded is None else f"a {type(loaded).__name__}"
        raise DocumentSyntaxError(
            filename, None, None,
            f"a {what} must be a mapping (key: value pairs) at the top level; this file is {kind}",
        )
    return loaded
