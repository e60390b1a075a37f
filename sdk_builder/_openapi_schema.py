"""JSON-schema reading for OpenAPI: local $refs, allOf merging, field kinds, response envelopes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from erp_platform.sandbox._protocol import FieldKind
from sdk_builder._model import DateFormat, Entity, EntityField
from sdk_builder._naming import NameAllocator


class SkipOperation(Exception):
    """Raised while building one operation: the operation is skipped with this reason."""


_DOTNET_EXAMPLE = re.compile(r"^/Date\(-?\d+([+-]\d{4})?\)/$")
_JSON_MEDIA_EXACT = ("application/json", "text/json", "*/*", "application/*")
_ENVELOPE_META = frozenset({
    "page", "pagesize", "pagecount", "pagenumber", "totalcount", "total", "totalpages", "totalitems",
    "totalrecords", "totalresults", "count", "next", "nextlink", "nextpage", "nexturl", "nextcursor",
    "nextpagetoken", "cursor", "hasmore", "hasnext", "more", "offset", "limit", "links", "link", "meta",
    "pagination", "paging", "previous", "prev", "prevlink", "self", "start", "startposition", "maxresults",
    "size", "status", "success", "message", "odatacontext", "odatacount", "odatanextlink", "time",
    "requestid",
    "errors", "warnings", "version", "perpage", "lastpage", "currentpage", "from", "to",
})
_RECORD_ARRAY_NAMES = ("value", "items", "data", "results", "records", "rows", "entries", "elements", "list")


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty dict (specs are untrusted: any node may be malformed)."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty list."""
    return value if isinstance(value, list) else []


def media_is_json(media_type: str) -> bool:
    """True for JSON media types (``application/json``, ``*+json``, parameters ignored) and wildcards."""
    base = media_type.split(";", maxsplit=1)[0].strip().lower()
    return base in _JSON_MEDIA_EXACT or base.endswith("+json")


class Resolver:
    """Resolves local ``$ref`` pointers (``#/...``) of one document; other refs skip the operation."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._doc = document

    def deref(self, node: Any) -> Any:
        """Follow ``$ref`` chains; keys next to a ``$ref`` (OpenAPI 3.1 style) override the target's."""
        seen: set[str] = set()
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#/"):
                raise SkipOperation(
                    f"reference {ref!r} is not local to the document (only '#/...' is supported)"
                )
            if ref in seen:
                raise SkipOperation(f"reference {ref!r} refers to itself")
            seen.add(ref)
            target: Any = self._doc
            for raw_part in ref[2:].split("/"):
                part = unquote(raw_part).replace("~1", "/").replace("~0", "~")
                if isinstance(target, dict) and part in target:
                    target = target[part]
                elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                    target = target[int(part)]
                else:
                    raise SkipOperation(f"reference {ref!r} points to nothing in the document")
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            node = {**target, **siblings} if siblings and isinstance(target, dict) else target
        return node

    def flatten(self, schema: Any, _depth: int = 0) -> dict[str, Any]:
        """Dereference and merge ``allOf``; a single non-null ``oneOf``/``anyOf`` branch is taken as is."""
        node = self.deref(schema)
        if not isinstance(node, dict):
            return {}
        if _depth > 8:
            return node
        if "allOf" in node and isinstance(node["allOf"], list):
            merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
            props: dict[str, Any] = {}
            required: list[str] = []
            for part in node["allOf"]:
                sub = self.flatten(part, _depth + 1)
                props.update(sub.get("properties") or {})
                required.extend(r for r in sub.get("required") or [] if isinstance(r, str))
                for key in ("type", "format", "items"):
                    if key in sub and key not in merged:
                        merged[key] = sub[key]
            props.update(node.get("properties") or {})
            required.extend(r for r in node.get("required") or [] if isinstance(r, str))
            merged["properties"] = props
            merged["required"] = required
            return merged
        for key in ("oneOf", "anyOf"):
            options = node.get(key)
            if isinstance(options, list):
                non_null = [o for o in options if self.deref(o) != {"type": "null"}]
                if len(non_null) == 1:
                    merged = {**self.flatten(non_null[0], _depth + 1), "nullable": True}
                    return merged
        return node

    def to_json(self, schema: Any, depth: int = 0, stack: tuple[str, ...] = ()) -> Any:
        """A self-contained copy of ``schema`` with refs inlined (cycles and depth > 6 cut to ``{}``)."""
        if isinstance(schema, dict):
            ref = schema.get("$ref")
            if isinstance(ref, str):
                if ref in stack or depth > 6:
                    return {}
                return self.to_json(self.deref(schema), depth + 1, (*stack, ref))
            kept = {str(k): v for k, v in schema.items() if not str(k).startswith("x-")}
            return {k: self.to_json(v, depth, stack) for k, v in kept.items()}
        if isinstance(schema, list):
            return [self.to_json(v, depth, stack) for v in schema]
        if schema is None or isinstance(schema, (str, int, float, bool)):
            return schema
        return str(schema)


def schema_type(schema: dict[str, Any]) -> tuple[str | None, bool]:
    """The JSON type of a flattened schema and whether null is allowed (3.0 ``nullable`` or 3.1 lists)."""
    raw = schema.get("type")
    nullable = bool(schema.get("nullable")) or bool(schema.get("x-nullable"))
    if isinstance(raw, list):
        nullable = nullable or "null" in raw
        types = [t for t in raw if t != "null"]
        raw = types[0] if types else None
    if raw is None:
        if "properties" in schema:
            raw = "object"
        elif "items" in schema:
            raw = "array"
    return (raw if isinstance(raw, str) else None), nullable


def _is_dotnet_date(schema: dict[str, Any]) -> bool:
    """An OData V2 ``/Date(ms)/`` string, recognised by its pattern or example."""
    example = str(schema.get("example"))
    return "/Date" in str(schema.get("pattern") or "") or bool(_DOTNET_EXAMPLE.match(example))


def field_kind(schema: dict[str, Any]) -> FieldKind:
    """How the host normalises a value of this (flattened) schema."""
    kind, _ = schema_type(schema)
    fmt = str(schema.get("format") or "").lower()
    if kind == "string":
        if fmt in ("date-time", "datetime") or _is_dotnet_date(schema):
            return FieldKind.DATETIME
        if fmt == "date":
            return FieldKind.DATE
        if fmt in ("decimal", "number"):
            return FieldKind.DECIMAL
        return FieldKind.STRING
    if kind == "integer":
        return FieldKind.INTEGER
    if kind == "number":
        return FieldKind.DECIMAL if fmt in ("decimal", "money", "currency") else FieldKind.NUMBER
    if kind == "boolean":
        return FieldKind.BOOLEAN
    return FieldKind.JSON


def ref_name(schema: Any) -> str | None:
    """``#/components/schemas/customer`` -> ``customer``; None for inline schemas."""
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    return None


def _is_record_schema(resolver: Resolver, schema: Any) -> bool:
    flat = resolver.flatten(schema)
    kind, _ = schema_type(flat)
    return kind == "object" and bool(flat.get("properties"))


class EntityRegistry:
    """Collects the entities of a spec, one per record schema, with unique names."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._names = NameAllocator()
        self._by_key: dict[str, str] = {}
        self.entities: dict[str, Entity] = {}

    def register(self, schema: Any, hint: str) -> str | None:
        """Register the record schema (a ``$ref`` keeps its component name) and return the entity name."""
        if not _is_record_schema(self._resolver, schema):
            return None
        name = ref_name(schema)
        key = f"ref:{name}" if name else f"inline:{hint}:{id(schema)}"
        if key in self._by_key:
            return self._by_key[key]
        flat = self._resolver.flatten(schema)
        entity_name = self._names.take(name or hint)
        required = {r for r in flat.get("required") or [] if isinstance(r, str)}
        fields: list[EntityField] = []
        for field_name, prop in (flat.get("properties") or {}).items():
            prop_flat = self._resolver.flatten(prop)
            _, nullable = schema_type(prop_flat)
            explicit = prop_flat.get("nullable", prop_flat.get("x-nullable"))
            fields.append(
                EntityField(
                    name=str(field_name),
                    kind=field_kind(prop_flat),
                    nullable=(
                        bool(explicit) if explicit is not None else (nullable or field_name not in required)
                    ),
                    description=str(prop_flat.get("description") or prop_flat.get("title") or ""),
                )
            )
        keys = tuple(f.name for f in fields if f.name in ("id", "Id", "ID"))[:1]
        self.entities[entity_name] = Entity(
            name=entity_name, fields=tuple(fields), keys=keys, description=str(flat.get("description") or "")
        )
        self._by_key[key] = entity_name
        return entity_name


@dataclass(frozen=True)
class ResponseShape:
    """What a success response looks like: collection or single, where records are, page metadata."""

    collection: bool = False
    record_path: tuple[str, ...] = ()
    record_schema: Any = None
    date_format: DateFormat = DateFormat.ISO
    odata: bool = False
    meta: dict[str, str] = field(default_factory=dict)  # lower-cased alnum name -> meta path


def alnum(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _meta_names(resolver: Resolver, props: dict[str, Any], skip: str | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for key, prop in props.items():
        if key == skip:
            continue
        found.setdefault(alnum(str(key)), str(key))
        flat = resolver.flatten(prop)
        if schema_type(flat)[0] == "object":
            for sub_key in flat.get("properties") or {}:
                found.setdefault(alnum(f"{key}{sub_key}"), f"{key}.{sub_key}")
                found.setdefault(alnum(str(sub_key)), f"{key}.{sub_key}")
    return found


def analyze_response(resolver: Resolver, schema: Any) -> ResponseShape:
    """Classify a success response schema: record array at the top, in ``value``, ``d.results``, or a
    named array; else a single result, unwrapped from a one-property wrapper (``{"Customer": {...}}``)."""
    if schema is None:
        return ResponseShape()
    flat = resolver.flatten(schema)
    kind, _ = schema_type(flat)
    if kind == "array":
        return ResponseShape(collection=True, record_schema=flat.get("items"))
    props: dict[str, Any] = flat.get("properties") or {}
    if kind != "object" or not props:
        return ResponseShape(record_schema=schema)
    value = resolver.flatten(props["value"]) if "value" in props else {}
    if schema_type(value)[0] == "array":
        meta = _meta_names(resolver, props, "value")
        return ResponseShape(True, ("value",), value.get("items"), odata=True, meta=meta)
    if "d" in props:
        d_flat = resolver.flatten(props["d"])
        d_props: dict[str, Any] = d_flat.get("properties") or {}
        if "results" in d_props and schema_type(resolver.flatten(d_props["results"]))[0] == "array":
            meta = {alnum(str(k)): f"d.{k}" for k in d_props if k != "results"}
            items = resolver.flatten(d_props["results"]).get("items")
            return ResponseShape(True, ("d", "results"), items, DateFormat.DOTNET, odata=True, meta=meta)
        if d_props:
            return ResponseShape(record_path=("d",), record_schema=props["d"], date_format=DateFormat.DOTNET)
    arrays = [
        str(k)
        for k, v in props.items()
        if schema_type(resolver.flatten(v))[0] == "array"
        and _is_record_schema(resolver, resolver.flatten(v).get("items"))
    ]
    if arrays:
        preferred = [a for a in arrays if a.lower() in _RECORD_ARRAY_NAMES]
        name = (preferred or arrays)[0]
        others = [alnum(str(k)) for k in props if k != name]
        # An envelope holds the records plus page metadata; a record holding an array is not one.
        if all(o in _ENVELOPE_META for o in others) or (preferred and len(others) <= 6):
            items = resolver.flatten(props[name]).get("items")
            return ResponseShape(True, (name,), items, meta=_meta_names(resolver, props, name))
    if len(props) == 1:
        (only_key, only_schema), = props.items()
        if _is_record_schema(resolver, only_schema):
            return ResponseShape(record_path=(str(only_key),), record_schema=only_schema)
    return ResponseShape(record_schema=schema)
