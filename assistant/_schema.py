"""The structured output the model fills: our workflow definition's JSON Schema, with the tenant's names.

SDK and operation names are enums of the tenant's ACTIVE SDKs and collection reads; a mapping's source is
one of the entity fields (exact names) or a column the draft's own transform steps create; existing
tables are listed. Whatever the model sends is validated again by the normal validator and the grounding
check, so a name outside the catalog never reaches a draft.
"""

from __future__ import annotations

import copy
from typing import Any

from assistant._catalog import CatalogView
from erp_platform.workflows import WorkflowDefinition

_IDENTIFIER = "^[a-z_][a-z0-9_]{0,62}$"


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
                {"type": "string", "pattern": _IDENTIFIER,
                 "description": "only a column created by this draft's transform steps (derive, join, aggregate)"},
            ]
        }
    load = defs.get("LoadSpec", {}).get("properties", {})
    if "table" in load and catalog.tables:
        load["table"] = {**load["table"], "description": "target table: an existing one ("
                         + ", ".join(t.name for t in catalog.tables) + ") or a new name"}
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
