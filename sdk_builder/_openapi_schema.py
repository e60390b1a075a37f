"""JSON-schema reading for OpenAPI: local $refs, allOf merging, field kinds, response envelopes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from erp_platform.sandbox._protocol import FieldKind
from sdk_builder._limits import RefBudget
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


#: Values one inlined schema (a request body's ``json_schema``) may hold before further refs are cut.
INLINE_MAX_VALUES = 10_000


class Resolver:
    """Resolves local ``$ref`` pointers (``#/...``) of one document; other refs skip the operation."""

    def __init__(self, document: dict[str, Any], budget: RefBudget | None = None) -> None:
        self._doc = document
        self._budget = budget

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
            if self._budget is not None:
                self._budget.spend(ref, len(seen))
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

    def to_json(self, schema: Any, *, max_values: int = INLINE_MAX_VALUES) -> tuple[Any, bool]:
        """A self-contained copy of ``schema`` with refs inlined, and whether it is complete.

        Cycles and refs deeper than 6 are cut to ``{}``; so is every ref met once the copy holds
        ``max_values`` values (a schema graph can expand exponentially), which makes it incomplete.
        """
        count = [0, 0]  # values copied, refs cut for size

        def copy(node: Any, depth: int, stack: tuple[str, ...]) -> Any:
            count[0] += 1
            if self._budget is not None:
                self._budget.copy()
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    if ref in stack or depth > 6:
                        return {}
                    if count[0] >= max_values:
                        count[1] += 1
                        return {}
                    return copy(self.deref(node), depth + 1, (*stack, ref))
                kept = {str(k): v for k, v in node.items() if not str(k).startswith("x-")}
                return {k: copy(v, depth, stack) for k, v in kept.items()}
            if isinstance(node, list):
                return [copy(v, depth, stack) for v in node]
            if node is None or isinstance(node, (str, int, float, bool)):
                return node
            return str(node)

        if self._budget is not None:
            self._budget.check_inline(self.expansion_bound(schema))
        value = copy(schema, 0, ())
        return value, count[1] == 0

    def expansion_bound(self, schema: Any) -> int:
        """An upper bound of the values in ``schema`` with every ref inlined to depth 6 (cycles ignored).

        Memoised per (value, depth), so it costs at most seven visits per value of the document even
        when the refs fan out exponentially.
        """
        memo: dict[tuple[int, int], int] = {}
        alive: list[Any] = []  # merged $ref siblings: kept so their ids stay unique during the walk

        def size(node: Any, depth: int) -> int:
            key = (id(node), depth)
            if key in memo:
                return memo[key]
            total = 1
            if isinstance(node, dict):
                ref = node.get("$ref")
                if isinstance(ref, str):
                    if depth <= 6:
                        try:
                            target = self.deref(node)
                        except SkipOperation:
                            target = None
                        alive.append(target)
                        total += size(target, depth + 1)
                else:
                    total += sum(size(v, depth) for k, v in node.items() if not str(k).startswith("x-"))
            elif isinstance(node, list):
                total += sum(size(v, depth) for v in node)
            memo[key] = total
            return total

        return size(schema, 0)


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


def stated_key(schema: dict[str, Any]) -> tuple[str, ...]:
    """A key the record schema states in an extension (``x-primary-key``, ``x-keys``, ``x-id``, ...)."""
    for name in ("x-primary-key", "x-primary-keys", "x-keys", "x-key", "x-id", "x-identifier"):
        value = schema.get(name)
        if isinstance(value, str) and value:
            return (value,)
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            return tuple(str(v) for v in value)
    return ()


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
        keys = stated_key(flat)
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
    evidence: str = ""  # why these records (the selector decision)
    headers: tuple[str, ...] = ()  # response headers the spec declares (lower-case), e.g. "link"


def alnum(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def singular(word: str) -> str:
    """``invoices`` -> ``invoice``, ``categories`` -> ``category``, ``addresses`` -> ``address``."""
    lower = word.lower()
    if lower.endswith("ies") and len(word) > 4:
        return word[:-3] + ("Y" if word[-3:].isupper() else "y")
    if lower.endswith(("sses", "xes", "ches", "shes", "zzes")):
        return word[:-2]
    if lower.endswith("s") and not lower.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


#: Arrays that hold messages about the response, never the records.
_NOT_RECORDS = frozenset({
    "warnings", "errors", "messages", "validationerrors", "links", "link", "notifications", "problems",
    "infos", "faults", "details", "_links", "alerts",
})
#: Object properties that wrap the record array one level down (HAL, QuickBooks, generic envelopes).
_WRAPPERS = ("_embedded", "embedded", "data", "result", "results", "response", "payload", "queryresponse",
             "content", "body")


def _meta_names(resolver: Resolver, props: dict[str, Any], skip: str | None) -> dict[str, str]:
    """Metadata beside the records, by alnum name, up to three levels deep (``meta.cursors.next``)."""
    found: dict[str, str] = {}

    def visit(prefix: str, name: str, prop: Any, depth: int) -> None:
        path = f"{prefix}.{name}" if prefix else name
        found.setdefault(alnum(path), path)
        found.setdefault(alnum(name), path)
        if depth >= 3:
            return
        flat = resolver.flatten(prop)
        if schema_type(flat)[0] == "object":
            for sub_key, sub in (flat.get("properties") or {}).items():
                visit(path, str(sub_key), sub, depth + 1)

    for key, prop in props.items():
        if key != skip:
            visit("", str(key), prop, 1)
    return found


@dataclass(frozen=True)
class _Candidate:
    path: tuple[str, ...]
    items: Any
    score: int
    reasons: tuple[str, ...]


def _record_arrays(resolver: Resolver, props: dict[str, Any]) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key, value in props.items():
        flat = resolver.flatten(value)
        if schema_type(flat)[0] == "array" and _is_record_schema(resolver, flat.get("items")):
            found.append((str(key), flat.get("items")))
    return found


def _score(name: str, items: Any, resource: str, nested_in: str | None) -> _Candidate:
    reasons: list[str] = []
    score = 0
    wanted = {alnum(resource), alnum(singular(resource))} - {""}
    item_ref = ref_name(items) or ""
    if alnum(name) in wanted or alnum(singular(name)) in wanted:
        score += 100
        reasons.append(f"named like the resource `{resource}`")
    elif item_ref and alnum(singular(item_ref)) in wanted | {alnum(singular(w)) for w in wanted}:
        score += 60
        reasons.append(f"its items are `{item_ref}`, the resource's type")
    if alnum(name) in _RECORD_ARRAY_NAMES:
        score += 40
        reasons.append(f"`{name}` is a record-array name")
    if nested_in is not None and alnum(nested_in) in ("embedded",):
        score += 40
        reasons.append("HAL `_embedded`")
    if alnum(name) in _NOT_RECORDS or alnum(name).endswith(("warnings", "errors")):
        score -= 200
        reasons.append(f"`{name}` holds messages, not records")
    return _Candidate((name,), items, score, tuple(reasons))


def analyze_response(
    resolver: Resolver, schema: Any, *, resource: str = "", headers: tuple[str, ...] = ()
) -> ResponseShape:
    """Classify a success response schema and choose the record selector, with its evidence.

    Candidates are arrays of objects at the top level and one level down in wrapper objects
    (``_embedded``, ``data``, ``QueryResponse``, ...). The records are the array named like the resource
    (``Contacts`` for ``/Contacts``), else one whose items are the resource's type, else one with a
    record-array name (``value``, ``items``, ``data``, ...); arrays of messages (``Warnings``) never.
    Without a convincing candidate, an object whose other keys are all page metadata is still an
    envelope; anything else is a single result (unwrapped from a one-property wrapper).
    """
    if schema is None:
        return ResponseShape(headers=headers)
    flat = resolver.flatten(schema)
    kind, _ = schema_type(flat)
    if kind == "array":
        items = flat.get("items")
        what = ref_name(items) or "objects"
        return ResponseShape(collection=True, record_schema=items, headers=headers,
                             evidence=f"the response is a JSON array of {what}")
    props: dict[str, Any] = flat.get("properties") or {}
    if kind != "object" or not props:
        return ResponseShape(record_schema=schema, headers=headers)
    value = resolver.flatten(props["value"]) if "value" in props else {}
    if schema_type(value)[0] == "array":
        meta = _meta_names(resolver, props, "value")
        others = [k for k in props if k != "value"]
        return ResponseShape(True, ("value",), value.get("items"), odata=True, meta=meta, headers=headers,
                             evidence="OData `value` array" + (f" beside {_listing(others)}" if others else ""))
    if "d" in props:
        d_flat = resolver.flatten(props["d"])
        d_props: dict[str, Any] = d_flat.get("properties") or {}
        if "results" in d_props and schema_type(resolver.flatten(d_props["results"]))[0] == "array":
            meta = {alnum(str(k)): f"d.{k}" for k in d_props if k != "results"}
            items = resolver.flatten(d_props["results"]).get("items")
            return ResponseShape(True, ("d", "results"), items, DateFormat.DOTNET, odata=True, meta=meta,
                                 headers=headers, evidence="OData V2 `d.results` array")
        if d_props:
            return ResponseShape(record_path=("d",), record_schema=props["d"], date_format=DateFormat.DOTNET,
                                 headers=headers)
    candidates = [_score(name, items, resource, None) for name, items in _record_arrays(resolver, props)]
    for wrapper, prop in props.items():
        if alnum(str(wrapper)) not in _WRAPPERS:
            continue
        inner = resolver.flatten(prop)
        if schema_type(inner)[0] != "object":
            continue
        for name, items in _record_arrays(resolver, inner.get("properties") or {}):
            found = _score(name, items, resource, str(wrapper))
            candidates.append(_Candidate((str(wrapper), name), items, found.score + 10,
                                         (*found.reasons, f"inside `{wrapper}`")))
    candidates.sort(key=lambda c: -c.score)
    if candidates:
        best = candidates[0]
        top = best.path[0]
        others = [str(k) for k in props if k != top]
        # an envelope holds the records plus metadata; a record holding arrays has many fields of its own
        own_fields = [o for o in others if alnum(o) not in _ENVELOPE_META and alnum(o) not in _NOT_RECORDS]
        if (best.score >= 100 and len(own_fields) <= 8) or (best.score >= 40 and len(own_fields) <= 6) or (
            best.score >= 0 and not own_fields
        ):
            reasons = list(best.reasons) or ["the only array of records"]
            if len(candidates) > 1:
                reasons.append("chosen over " + ", ".join(f"`{'.'.join(c.path)}`" for c in candidates[1:4]))
            meta = _meta_names(resolver, props, top)
            if len(best.path) > 1:
                inner_props = resolver.flatten(props[top]).get("properties") or {}
                for key, path in _meta_names(resolver, inner_props, best.path[1]).items():
                    meta.setdefault(key, f"{top}.{path}")
            items_name = ref_name(best.items) or "objects"
            evidence = (f"response property `{'.'.join(best.path)}` (array of {items_name}): "
                        + "; ".join(reasons))
            if others:
                evidence += f"; beside {_listing(others)}"
            return ResponseShape(True, best.path, best.items, meta=meta, evidence=evidence, headers=headers)
    if len(props) == 1:
        (only_key, only_schema), = props.items()
        if _is_record_schema(resolver, only_schema):
            return ResponseShape(record_path=(str(only_key),), record_schema=only_schema, headers=headers)
    return ResponseShape(record_schema=schema, headers=headers)


def _listing(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
