"""Workflow parameters: values a definition declares and the person applying it supplies.

A definition declares its parameters and uses them as ``{name}`` in any text value::

    parameters:
      erp_tenant: {description: "the company code of this tenant in the ERP"}
    activities:
      - id: customers
        type: extract
        config: {sdk: erp, operation: list_customers, params: {company: "{erp_tenant}"}}

``erp workflow apply TENANT FILE --param erp_tenant=acme`` supplies a value; without one, the parameter's
``value`` in the file, then its ``default``, applies, and a parameter with none of them is refused. The
stored version holds the substituted text and, under ``parameters``, each parameter with the value it got,
so the content hash covers the values: the same file applied with another value is another version.

A ``{name}`` that is not a declared parameter is refused with its path, so no placeholder ever reaches a
run. ``{{`` and ``}}`` stand for literal braces. Parameters are not secrets (they are stored in the
definition): credentials go to ``erp credentials set``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from erp_platform._errors import Problem

#: ``{name}``, ``{{`` or ``}}``; anything else in braces is left as written.
_TOKEN = re.compile(r"\{\{|\}\}|\{([a-z_][a-z0-9_]{0,62})\}")
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
MAX_VALUE_LENGTH = 1000
_APPLY_HINT = "`erp workflow apply TENANT FILE --param {name}=VALUE`"


def _path(parent: str, key: object) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    text = str(key)
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
        return f"{parent}.{text}" if parent else text
    return f"{parent}[{text!r}]"


def _check_value(name: str, value: object, where: str, problems: list[Problem]) -> str | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        problems.append(Problem(where, f"the value of parameter {name!r} must be text or a number", value))
        return None
    text = str(value)
    if len(text) > MAX_VALUE_LENGTH:
        problems.append(Problem(where, f"the value of parameter {name!r} is longer than {MAX_VALUE_LENGTH} "
                                       "characters", text))
        return None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        problems.append(Problem(where, f"the value of parameter {name!r} contains a control character "
                                       "(line break, tab, NUL, ...): remove it", text))
        return None
    return text


def _declared(data: Mapping[str, Any], problems: list[Problem]) -> dict[str, dict[str, Any]]:
    raw = data.get("parameters")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem("parameters", "must be a mapping of parameter names to "
                                              "{description, default}", raw))
        return {}
    declared: dict[str, dict[str, Any]] = {}
    for name, given in raw.items():
        where = _path("parameters", name)
        spec = {} if given is None else given
        if not isinstance(name, str) or _NAME.fullmatch(name) is None:
            problems.append(Problem(where, "a parameter name must be a lowercase identifier: letters a-z, "
                                           "digits and underscores, not starting with a digit", name))
            continue
        if not isinstance(spec, dict):
            problems.append(Problem(where, "must be a mapping with an optional description and default "
                                           "(e.g. {description: company code, default: acme})", spec))
            continue
        declared[name] = dict(spec)
    return declared


def _values(declared: dict[str, dict[str, Any]], supplied: Mapping[str, str],
            problems: list[Problem]) -> dict[str, str]:
    """The value of every declared parameter; a ``value`` or ``default`` found invalid is removed from
    ``declared`` (it is reported here, not again by the model)."""
    for name in sorted(set(supplied) - set(declared)):
        known = ", ".join(sorted(declared)) or "none"
        problems.append(Problem(f"--param {name}", f"{name!r} is not a parameter of this workflow (declared: "
                                                   f"{known}); declare it under parameters or remove the "
                                                   "--param", supplied[name]))
    values: dict[str, str] = {}
    for name, spec in declared.items():
        if name in supplied:
            chosen, where = supplied[name], f"--param {name}"
        elif spec.get("value") is not None:
            chosen, where = spec["value"], _path(_path("parameters", name), "value")
        elif spec.get("default") is not None:
            chosen, where = spec["default"], _path(_path("parameters", name), "default")
        else:
            problems.append(Problem(_path("parameters", name), f"parameter {name!r} has no default and no "
                                    f"value was supplied: supply one with {_APPLY_HINT.format(name=name)}"))
            continue
        text = _check_value(name, chosen, where, problems)
        if text is not None:
            values[name] = text
        elif name not in supplied:
            spec.pop("value" if spec.get("value") is not None else "default")
    return values


def _substitute(value: Any, path: str, values: Mapping[str, str], declared: set[str],
                problems: list[Problem]) -> Any:
    if isinstance(value, dict):
        return {k: _substitute(v, _path(path, k), values, declared, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, _path(path, i), values, declared, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or ("{" not in value and "}" not in value):
        return value

    def replace(match: re.Match[str]) -> str:
        token, name = match.group(0), match.group(1)
        if name is None:
            return token[0]  # {{ -> {, }} -> }
        if name in values:
            return values[name]
        if name not in declared:
            problems.append(Problem(path, f"{{{name}}} is not a declared parameter: declare it (parameters: "
                                          f"{{{name}: {{description: ...}}}}) and supply a value with "
                                          f"{_APPLY_HINT.format(name=name)}, or write {{{{{name}}}}} for "
                                          "literal braces", value))
        return token  # a declared parameter without a value is already reported once

    return _TOKEN.sub(replace, value)


def resolve_parameters(
    data: Mapping[str, Any], supplied: Mapping[str, str] | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """Substitute declared parameters into a parsed document; return the new document and every problem.

    Args:
        data: the document as parsed (see :func:`~erp_platform.workflows.load_document`).
        supplied: ``--param`` values by name; they win over a parameter's ``value`` and ``default``.

    Returns:
        The document with every ``{name}`` replaced and each parameter's ``value`` set, and the problems
        (undeclared placeholders, parameters without a value, unknown ``--param`` names, bad values).
    """
    problems: list[Problem] = []
    declared = _declared(data, problems)
    values = _values(declared, dict(supplied or {}), problems)
    resolved: dict[str, Any] = {}
    for key, value in data.items():
        if key == "parameters":
            continue
        resolved[key] = _substitute(value, _path("", key), values, set(declared), problems)
    if declared:  # only well-formed declarations: the others are reported above
        resolved["parameters"] = {
            name: {**spec, **({"value": values[name]} if name in values else {})}
            for name, spec in declared.items()
        }
    return resolved, problems


def parse_param_options(items: list[str]) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}`` (the CLI's repeatable ``--param NAME=VALUE``).

    Raises:
        InvalidInputError: an item is not ``NAME=VALUE`` or a name is given twice.
    """
    from erp_platform._errors import InvalidInputError

    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or _NAME.fullmatch(name) is None:
            raise InvalidInputError(
                f"--param {item!r} is not NAME=VALUE with a lowercase NAME, e.g. --param erp_tenant=acme"
            )
        if name in values:
            raise InvalidInputError(f"--param {name} is given twice; give each parameter once")
        values[name] = value
    return values
