"""Primary keys of list operations, with evidence.

In order of strength: a key the spec states (an ``x-primary-key``-style extension on the record schema,
or an EDMX ``Key``), the path parameter(s) of the item GET next to the list (``/Invoices/{InvoiceID}``,
``/customers({customer_id})``, ``A_SalesOrderItem(SalesOrder='{SalesOrder}',SalesOrderItem='{...}')``)
mapped onto record fields, and last a field named like an identifier (``ContactID``, ``id``, ``code``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sdk_builder._model import Decision, DecisionSource, Entity, Operation
from sdk_builder._openapi_schema import alnum, singular

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
_ID_NAMES = ("id", "uuid", "guid", "key", "identifier", "code", "number", "internalid", "no")


@dataclass(frozen=True)
class KeyChoice:
    """The key fields of one list operation and why."""

    fields: tuple[str, ...]
    decision: Decision


def _field_for_param(param: str, fields: Sequence[str], resource: str, entity: str | None) -> str | None:
    """The record field a path parameter stands for: same name, or ``<resource>_id`` -> ``id``."""
    by_alnum = {alnum(f): f for f in fields}
    wanted = alnum(param)
    if wanted in by_alnum:
        return by_alnum[wanted]
    prefixes = {alnum(stem) for stem in _stems(entity, resource)}
    prefixes.discard("")
    for prefix in sorted(prefixes, key=len, reverse=True):
        if wanted.startswith(prefix):
            rest = wanted[len(prefix):]
            if rest in by_alnum:
                return by_alnum[rest]
            if rest == "" and "id" in by_alnum:
                return by_alnum["id"]
    if wanted.endswith("id") and "id" in by_alnum and wanted not in by_alnum:
        return by_alnum["id"]
    return None


def _path_resource(path: str) -> str:
    """The last literal segment of a path (``companies({id})/customers`` -> ``customers``)."""
    for segment in reversed([s for s in path.split("/") if s]):
        name = re.sub(r"\(.*\)$", "", segment)
        if name and not name.startswith("{"):
            return name
    return ""


def _item_params(list_path: str, item_path: str) -> list[str] | None:
    """Placeholders the item path adds to the list path (``/x`` + ``/{id}`` or ``({id})``), else None."""
    if not item_path.startswith(list_path) or item_path == list_path:
        return None
    rest = item_path[len(list_path):]
    if re.fullmatch(r"/\{[^{}/]+\}", rest) or re.fullmatch(r"\((?:[^()/]*\{[^{}]+\}[^()/]*)\)", rest):
        return _PLACEHOLDER.findall(rest)
    return None


def _stems(entity: str | None, resource: str) -> list[str]:
    """Names a record's id field may start with: the entity (without Dto/Model suffixes) and the resource."""
    stems: list[str] = []
    for name in (entity or "", resource):
        bare = re.sub(r"(Dto|DTO|Model|Response|Entity|Type|Record)$", "", name.rsplit(".", 1)[-1])
        for stem in (name, bare, singular(bare)):
            if stem and stem not in stems:
                stems.append(stem)
    return stems


def _identifier_field(entity: Entity, resource: str) -> tuple[str, str] | None:
    """An id-like field; fields the schema requires come first (a required ``identifier`` beats an optional
    ``uuid``)."""
    required = [f.name for f in entity.fields if not f.nullable]
    for names, note in ((required, " (required by the schema)"), ([f.name for f in entity.fields], "")):
        by_alnum = {alnum(n): n for n in names}
        for stem in _stems(entity.name, resource):
            for suffix in ("id", "key", "code", "number"):
                candidate = alnum(stem) + suffix
                if candidate in by_alnum and stem:
                    return by_alnum[candidate], f"field `{by_alnum[candidate]}` is named like the entity's id{note}"
        for name in _ID_NAMES:
            if name in by_alnum:
                return by_alnum[name], f"field `{by_alnum[name]}` is an identifier name{note}"
        ids = [n for n in names if n.endswith(("ID", "Id")) and len(n) > 2]
        if len(ids) == 1:
            return ids[0], f"`{ids[0]}` is the only field ending in ID/Id{note}"
    return None


def infer_key(
    op: Operation,
    entity: Entity | None,
    item_gets: Iterable[Operation],
    *,
    stated: tuple[str, ...] = (),
    stated_by: str = "",
) -> KeyChoice:
    """The primary key of a list operation (``stated``: a key the spec declares, and where)."""
    if entity is None:
        return KeyChoice((), Decision(source=DecisionSource.NONE,
                                      evidence="the records have no declared schema: set it with an override"))
    names = [f.name for f in entity.fields]
    if stated and all(k in names for k in stated):
        return KeyChoice(stated, Decision(source=DecisionSource.SPEC, evidence=stated_by))
    for item in item_gets:
        params = _item_params("/" + op.path, "/" + item.path)
        if not params:
            continue
        by_wire = {p.wire_name: p for p in op.parameters}
        own = [p for p in params if p not in by_wire]
        mapped = [_field_for_param(p, names, _path_resource(op.path), op.entity) for p in own]
        if own and all(mapped):
            fields = tuple(str(m) for m in mapped)
            shown = ", ".join(f"`{{{p}}}` -> `{f}`" for p, f in zip(own, fields, strict=True))
            return KeyChoice(fields, Decision(
                source=DecisionSource.SPEC, evidence=f"item GET `{item.path}` path parameter {shown}"))
    found = _identifier_field(entity, _path_resource(op.path))
    if found is not None:
        return KeyChoice((found[0],), Decision(source=DecisionSource.SPEC, evidence=found[1]))
    return KeyChoice((), Decision(
        source=DecisionSource.NONE,
        evidence=f"no key: no item GET path parameter, key extension or id-like field among {len(names)} fields; "
                 f"set it with --set {op.id}.primary_key=FIELD",
    ))
