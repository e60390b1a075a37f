"""The structured output the model fills: our workflow definition's JSON Schema, with the tenant's names.

SDK and operation names are enums of the tenant's ACTIVE SDKs and collection reads; a mapping's source is
one of the entity fields (exact names) or a column the draft's own transform steps create; an extract's
change cursor is one of the date/time fields of a read that supports incremental reads; a load's business
key is a field, the column a field loads as, or a column of an existing table (a key on a new column is
named by the field that feeds it); existing tables are listed. The SDK builder's primary key and cursor of each read
are named in the descriptions (they are the defaults). Whatever the model sends is validated again by the
normal validator and the grounding check, so a name outside the catalog never reaches a draft.
"""

from __future__ import annotations

import copy
from typing import Any

from assistant._catalog import CatalogView
from erp_platform.transforms import column_name
from erp_platform.workflows import WorkflowDefinition

_IDENTIFIER = "^[a-z_][a-z0-9_]{0,62}$"
_DERIVED = "only a column created by this draft's transform steps (derive, join, aggregate)"
_LISTED = 30


def _defaults(catalog: CatalogView, attribute: str) -> str:
    """``operation: value`` of the reads that have one (at most 30, then a count)."""
    pairs = []
    for op in catalog.operations():
        value = getattr(op, attribute)
        if value:
            pairs.append(f"{op.name}: {'+'.join(value) if isinstance(value, tuple) else value}")
    shown = "; ".join(pairs[:_LISTED])
    return shown + (f"; and {len(pairs) - _LISTED} more (describe_operation)" if len(pairs) > _LISTED else "")


def workflow_schema(catalog: CatalogView) -> dict[str, Any]:
    """The JSON Schema of a workflow definition with enums from ``catalog`` (``$defs`` at the top)."""
    schema = copy.deepcopy(WorkflowDefinition.model_json_schema())
    defs: dict[str, Any] = schema.setdefault("$defs", {})
    sdks = sorted(s.name for s in catalog.sdks)
    operations = sorted({op.name for op in catalog.operations()})
    fields = sorted({f.name for op in catalog.operations() for f in op.fields})
    extract = defs.get("ExtractConfig", {}).get("properties", {})
    if "sdk" in extract:
        extract["sdk"] = {"type": "string", "enum": sdks, "description": "one of this tenant's ACTIVE SDKs"}
    if "operation" in extract:
        extract["operation"] = {"type": "string", "enum": operations,
                                "description": "a collection read of that SDK (see describe_operation)"}
    column = defs.get("ColumnMapping", {}).get("properties", {})
    if "source" in column:
        column["source"] = {
            "anyOf": [
                {"type": "string", "enum": fields, "description": "a field of the extracted entity, exact name"},
                {"type": "string", "pattern": _IDENTIFIER, "description": _DERIVED},
            ]
        }
    cursors = sorted({name for op in catalog.operations() for name in op.cursor_candidates()})
    if "cursor_field" in extract:
        choices: list[dict[str, Any]] = [{"type": "string", "enum": cursors}] if cursors else []
        extract["cursor_field"] = {
            "anyOf": [*choices, {"type": "null"}], "default": None,
            "description": "incremental only: the record field holding the last change, exact name; leave it out "
            "for the SDK builder's change field (" + (_defaults(catalog, "incremental_field") or "none") + ")",
        }
    load = defs.get("LoadSpec", {}).get("properties", {})
    if "table" in load and catalog.tables:
        load["table"] = {**load["table"], "description": "target table: an existing one ("
                         + ", ".join(t.name for t in catalog.tables) + ") or a new name"}
    if "business_key" in load:
        names = set(fields) | {column_name(f) for f in fields}
        names |= {c.name for t in catalog.tables for c in t.columns}
        item: dict[str, Any] = {
            "type": "string", "enum": sorted(names),
            "description": "a field of a read (exact name), the column it loads as, or a column of an existing table; "
            "for a new column, name the field that feeds it",
        } if names else {"type": "string", "pattern": _IDENTIFIER}
        load["business_key"] = {
            "anyOf": [{"type": "array", "minItems": 1, "items": item}, {"type": "null"}],
            "default": None,
            "description": "the mapped columns (or their source fields) identifying a row: the merge key; leave "
            "it out for the SDK builder's primary key (" + (_defaults(catalog, "keys") or "none") + ")",
        }
    return schema


def submit_schema(catalog: CatalogView) -> dict[str, Any]:
    """``{"definition": <workflow schema>}``, with ``$defs`` hoisted so every ``$ref`` resolves."""
    schema = workflow_schema(catalog)
    defs = schema.pop("$defs", {})
    return {
        "type": "object",
        "$defs": defs,
        "properties": {
            "definition": schema,
            "explanation": {"type": "string", "description": "one paragraph for the user: what the draft does"},
        },
        "required": ["definition"],
    }
