"""Turning pydantic's validation errors into the platform's :class:`Problem` (JSON path, message, received).

Pydantic's locations include the tags of discriminated unions (``activities.2.extract.config``) and its
messages talk about Python types. Here the location is walked alongside the model's types, so tags are
dropped and the path reads like the document (``activities[2].config.operation``), and each message says
what the field must be, in the document's terms.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Iterable
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from erp_platform._errors import Problem

IDENTIFIER_PATTERN = r"^[a-z_][a-z0-9_]{0,62}$"
IDENTIFIER_HELP = (
    "must be a lowercase identifier: letters a-z, digits and underscores, not starting with a digit, "
    "at most 63 characters"
)
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def identifier_suggestion(value: object) -> str | None:
    """A valid identifier close to ``value`` (``"Order Lines"`` -> ``"order_lines"``), or None."""
    if not isinstance(value, str):
        return None
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", value)
    snake = re.sub(r"[^a-z0-9]+", "_", snake.lower()).strip("_")[:63]
    if not snake:
        return None
    if snake[0].isdigit():
        snake = ("_" + snake)[:63]
    return snake if snake != value else None


def did_you_mean(value: object, choices: Iterable[str]) -> str:
    """``" (did you mean 'x'?)"`` when a choice is close to ``value``, else an empty string."""
    if not isinstance(value, str):
        return ""
    close = difflib.get_close_matches(value, sorted(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _unwrap(tp: Any) -> Any:
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    return tp


def _variants(tp: Any) -> list[Any]:
    tp = _unwrap(tp)
    if get_origin(tp) in (Union, types.UnionType):
        return [_unwrap(a) for a in get_args(tp) if a is not type(None)]
    return [tp]


def _tag_of(model: Any) -> str | None:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    for name in ("type", "op", "kind"):
        field = model.model_fields.get(name)
        if field is not None and get_origin(field.annotation) is Literal:
            args = get_args(field.annotation)
            if len(args) == 1:
                return str(args[0])
    return None


def _union_tags(tp: Any) -> list[str]:
    return [t for t in (_tag_of(v) for v in _variants(tp)) if t is not None]


def _model_field(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field.annotation
    return None


def _field_names(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


class _Walk:
    """The JSON path of a pydantic location, plus the model holding its last element."""

    def __init__(self, root: type[BaseModel], loc: tuple[int | str, ...]) -> None:
        self.parts: list[str] = []
        self.parent: type[BaseModel] | None = None
        self.union: Any = None  # the union type at the location, for tag errors
        tp: Any = root
        for item in loc:
            variants = _variants(tp)
            if len(variants) > 1:
                chosen = [v for v in variants if _tag_of(v) == item]
                if chosen:  # a discriminated union's tag: not part of the document's path
                    tp = chosen[0]
                    continue
                tp = None
            elif variants:
                tp = variants[0]
            self.parent = None
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                self.parent = tp
                self._add_key(str(item))
                tp = _model_field(tp, str(item))
            elif isinstance(item, int) and get_origin(tp) in (list, tuple):
                self.parts.append(f"[{item}]")
                tp = get_args(tp)[0] if get_args(tp) else None
            elif item == "[key]":
                self.parts.append(" (key)")
                tp = None
            elif get_origin(tp) is dict:
                self._add_key(str(item))
                tp = get_args(tp)[1]
            elif isinstance(item, int):
                self.parts.append(f"[{item}]")
                tp = None
            else:
                self._add_key(str(item))
                tp = None
        self.union = tp

    def _add_key(self, key: str) -> None:
        if _PLAIN_KEY.match(key):
            self.parts.append(key if not self.parts else f".{key}")
        else:
            self.parts.append(f"[{key!r}]")

    @property
    def path(self) -> str:
        return "".join(self.parts) or "(top level)"


def _pattern_message(pattern: str, received: object) -> str:
    if pattern == IDENTIFIER_PATTERN:
        suggestion = identifier_suggestion(received)
        return IDENTIFIER_HELP + (f" (try {suggestion!r})" if suggestion else "")
    if pattern == r"^[a-z0-9_]{0,20}$":
        return "must be at most 20 lowercase letters, digits or underscores"
    literal = re.fullmatch(r"\^([a-z_]+)\$", pattern)
    if literal:
        return f"must be {literal.group(1)!r}"
    return f"must match the pattern {pattern}"


def _message(err: dict[str, Any], walk: _Walk) -> tuple[str, object]:
    kind: str = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    received: object = err.get("input")
    if kind == "missing":
        return "required field missing: add it", None
    if kind == "extra_forbidden":
        allowed = _field_names(walk.parent) if walk.parent is not None else []
        key = walk.parts[-1].lstrip(".") if walk.parts else ""
        hint = did_you_mean(key, allowed)
        listing = f"; allowed fields: {', '.join(allowed)}" if allowed else ""
        return f"unknown field{hint}: remove or rename it{listing}", received
    if kind == "string_pattern_mismatch":
        return _pattern_message(str(ctx.get("pattern", "")), received), received
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", "type")).strip("'")
        tags = _union_tags(walk.union)
        expected = ", ".join(tags) if tags else str(ctx.get("expected_tags", ""))
        if kind == "union_tag_not_found":
            return f"missing `{disc}`: set it to one of {expected}", None
        return f"unknown {disc} {ctx.get('tag')!r}: use one of {expected}", ctx.get("tag")
    if kind in ("literal_error", "enum"):
        return f"must be {ctx.get('expected')}", received
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"])), received
    return _generic_message(kind, ctx, err["msg"]), received


_TYPE_MESSAGES = {
    "string_type": "must be text (a string)",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "dict_type": "must be a mapping (key: value pairs)",
    "model_type": "must be a mapping (key: value pairs)",
    "model_attributes_type": "must be a mapping (key: value pairs)",
    "none_required": "must be empty (null)",
}


def _generic_message(kind: str, ctx: dict[str, Any], msg: str) -> str:
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    if kind.startswith(("datetime", "date_")):
        return "must be an ISO 8601 date or date-time, e.g. 2026-03-31 or 2026-03-31T18:00:00Z"
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("greater than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, key = bounds[kind]
        return f"must be {words} {ctx.get(key)}"
    if kind == "too_short":
        n = ctx.get("min_length")
        return f"must have at least {n} item{'s' if n != 1 else ''}"
    if kind == "too_long":
        return f"must have at most {ctx.get('max_length')} items"
    if kind == "string_too_short":
        n = ctx.get("min_length")
        return "must not be empty" if n == 1 else f"must be at least {n} characters"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters"
    return msg[:1].lower() + msg[1:]


def problems_from_validation_error(exc: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """One :class:`Problem` per pydantic error, with document paths and readable messages."""
    problems: list[Problem] = []
    for err in exc.errors(include_url=False):
        walk = _Walk(root, tuple(err["loc"]))
        message, received = _message(dict(err), walk)
        if isinstance(received, dict):  # a whole object: the path already says which one
            received = None
        problems.append(Problem(walk.path, message, received))
    return problems
