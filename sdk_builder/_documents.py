"""Decoding raw spec bytes: JSON, YAML (tolerating stray TABs) or EDMX XML."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree import ElementTree

import yaml

from sdk_builder._errors import SpecError
from sdk_builder._limits import SpecLimitExceeded, SpecLimits, check_document, check_size, nul_error


class _Loader(yaml.SafeLoader):
    """Safe loader that keeps timestamps as strings (specs are JSON-shaped)."""


class _CLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The libyaml loader when available, with the same resolvers as :class:`_Loader`."""


for _cls in (_Loader, _CLoader):
    _cls.yaml_implicit_resolvers = {
        key: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


@dataclass(frozen=True)
class Document:
    """A decoded spec document: a JSON-like mapping (OpenAPI / Swagger) or an XML root (EDMX)."""

    data: dict[str, Any] | None
    xml: ElementTree.Element | None
    warnings: tuple[str, ...] = field(default=())


def decode(raw: bytes, filename: str, limits: SpecLimits | None = None) -> Document:
    """Decode ``raw`` as XML, JSON or YAML (chosen by content), raising :class:`SpecError` when impossible.

    The ``limits`` (default: :meth:`SpecLimits.from_env`) bound the file's size, the document's nesting and
    its size with YAML aliases expanded; a NUL character is refused wherever it appears.
    """
    limits = limits or SpecLimits.from_env()
    check_size(raw, limits, filename)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"the file is not UTF-8 text (invalid byte at offset {exc.start}). Save the spec as UTF-8.",
            filename=filename,
        ) from None
    if "\0" in text:
        before = text[: text.index("\0")]
        raise nul_error(filename, line=before.count("\n") + 1, column=len(before) - before.rfind("\n"))
    stripped = text.lstrip()
    if not stripped:
        raise SpecError("the file is empty. Pass the OpenAPI, Swagger or EDMX document.", filename=filename)
    try:
        if stripped.startswith("<"):
            return Document(data=None, xml=_parse_xml(raw, filename))
        if stripped.startswith(("{", "[")):
            data: Any = _parse_json(text, filename)
            warnings: tuple[str, ...] = ()
        else:
            data, warnings = _parse_yaml(text, filename)
    except RecursionError:
        raise SpecLimitExceeded(
            "values are nested too deeply to read", limit_name="max_depth", limit=limits.max_depth,
            filename=filename, unit=" levels",
        ) from None
    check_document(data, limits, filename)
    return Document(data=_as_mapping(data, filename), xml=None, warnings=warnings)


def not_a_spec(filename: str) -> SpecError:
    """The error for a document that parses but is no API specification."""
    return SpecError(
        "not an API specification: expected an OpenAPI 3.x or Swagger 2.0 document (a top-level 'openapi' "
        "or 'swagger' key) or an OData EDMX $metadata document (XML). Pass the spec file itself, not "
        "documentation or a sample payload.",
        filename=filename,
    )


def _as_mapping(data: Any, filename: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise not_a_spec(filename)
    return data


def _parse_json(text: str, filename: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(
            f"invalid JSON: {exc.msg}. Fix the JSON syntax at that position or export the spec again.",
            filename=filename,
            line=exc.lineno,
            column=exc.colno,
        ) from None


def _parse_yaml(text: str, filename: str) -> tuple[Any, tuple[str, ...]]:
    if "\t" not in text:
        return _load_yaml(text, _CLoader, filename), ()
    # Tabs: decide with the strict pure-Python scanner, so every machine (with or without libyaml)
    # reads the same document. Where YAML forbids a TAB, retry with TABs replaced by spaces.
    try:
        return _load_yaml(text, _Loader, filename), ()
    except SpecError as first:
        lines = text.split("\n")
        tab_lines = [i + 1 for i, line in enumerate(lines) if "\t" in line]
        fixed = "\n".join(line.replace("\t", " ") for line in lines)
        try:
            data = _load_yaml(fixed, _CLoader, filename)
        except SpecError:
            raise first from None
        shown = ", ".join(str(n) for n in tab_lines)
        warning = (
            f"{filename}: YAML does not allow the TAB characters on {len(tab_lines)} line"
            f"{'s' if len(tab_lines) != 1 else ''} ({shown}); they were read as spaces. "
            "Replace the TABs with spaces in the spec to silence this warning."
        )
        return data, (warning,)


def _load_yaml(text: str, loader: type[yaml.SafeLoader], filename: str) -> Any:
    try:
        return yaml.load(text, Loader=loader)  # noqa: S506 - both loaders derive from SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = (exc.problem or exc.context or "syntax error").replace("\t", "\\t")
        raise SpecError(
            f"invalid YAML: {problem}. Fix the YAML at that position (a YAML linter shows the exact spot) "
            "or export the spec as JSON.",
            filename=filename,
            line=None if mark is None else mark.line + 1,
            column=None if mark is None else mark.column + 1,
        ) from None
    except yaml.YAMLError as exc:
        raise SpecError(
            f"invalid YAML: {exc}. Fix the YAML or export the spec as JSON.", filename=filename
        ) from None


def _parse_xml(raw: bytes, filename: str) -> ElementTree.Element:
    if _DOCTYPE.search(raw):
        raise SpecError(
            "XML with a DOCTYPE or ENTITY declaration is refused (entity expansion attacks); $metadata "
            "documents never need one. Remove the declaration.",
            filename=filename,
        )
    try:
        return ElementTree.fromstring(raw)  # noqa: S314 - DTDs are refused above
    except ElementTree.ParseError as exc:
        if b"edmx" not in raw.lower():
            raise not_a_spec(filename) from None
        line, column = exc.position
        message = str(exc).split(":")[0]
        raise SpecError(
            f"invalid XML: {message}. Fix the XML at that position or download the $metadata document again.",
            filename=filename,
            line=line,
            column=column + 1,
        ) from None
