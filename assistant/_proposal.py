"""Offline proposals: an understood intent + the tenant's catalog -> a workflow definition.

Only names from the catalog are used (SDK, operation, entity fields); a request that cannot be resolved
against it becomes a clear message instead of a guess.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict

from assistant._catalog import CatalogView, OperationView
from assistant._errors import AssistantError
from assistant._intent import Intent, resolve_operation
from assistant._mapper import MappingProposal, propose_mapping
from erp_platform.transforms import column_name
from erp_platform.workflows import ExtractActivity, SensorTrigger, WorkflowDefinition, model_payload


class Proposal(BaseModel):
    """A proposed definition, the mappings behind its loads, and notes for the user."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    definition: WorkflowDefinition
    mappings: tuple[MappingProposal, ...] = ()
    notes: tuple[str, ...] = ()
    base_version: int | None = None  # the ACTIVE version this proposal changes, if any


def _plural_table(op: OperationView) -> str:
    base = column_name(re.sub(r"V\d+$", "", op.entity or op.name.removeprefix("list_")))
    return base if base.endswith("s") else (base[:-1] + "ies" if base.endswith("y") else base + "s")


def _choose_operation(intent: Intent, catalog: CatalogView) -> OperationView:
    ranked = resolve_operation(intent.entity, catalog, intent.params)
    if not ranked:
        known = sorted({op.entity or op.name for op in catalog.operations()})
        listing = ", ".join(known[:30]) if known else "none: build and activate an SDK first (`erp sdk build`)"
        raise AssistantError(
            f"no ERP entity of this tenant matches {intent.entity!r}; its ACTIVE SDKs read: {listing}"
        )
    return ranked[0][1]


def _params_for(op: OperationView, intent: Intent) -> dict[str, Any]:
    missing = [p for p in op.required_params if p not in intent.params]
    if missing:
        raise AssistantError(
            f"operation {op.name!r} of SDK {op.sdk!r} needs parameter{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}: add it to the request, e.g. `with {missing[0]}=VALUE`"
        )
    unknown = [p for p in intent.params if p not in op.params]
    if unknown:
        takes = ", ".join(op.params) or "no parameters"
        raise AssistantError(f"operation {op.name!r} has no parameter {unknown[0]!r}; it takes {takes}")
    return {k: v for k, v in intent.params.items() if k in op.params}


def _existing_loader(catalog: CatalogView, definitions: dict[str, WorkflowDefinition], table: str) -> str | None:
    for workflow_id, definition in definitions.items():
        for activity in definition.activities:
            if activity.type == "load" and activity.config.table == table:
                return workflow_id
    return None


def propose(intent: Intent, catalog: CatalogView, active: dict[str, WorkflowDefinition]) -> Proposal:
    """A definition for ``intent`` over ``catalog``; ``active`` holds the tenant's ACTIVE definitions by id.

    Raises:
        AssistantError: the request cannot be resolved against the catalog (the message says why).
    """
    if intent.kind == "schedule":
        return _schedule(intent, active)
    if intent.kind == "add_sensor":
        changed = _add_sensor(intent, catalog, active)
        if changed is not None:
            return changed
    return _sync(intent, catalog, active)


def _sync(intent: Intent, catalog: CatalogView, active: dict[str, WorkflowDefinition]) -> Proposal:
    op = _choose_operation(intent, catalog)
    params = _params_for(op, intent)
    table = intent.table or _plural_table(op)
    mapping = propose_mapping(op, table, catalog.table(table))
    notes: list[str] = []
    if intent.key:
        unknown = [k for k in intent.key if k not in {c.target for c in mapping.columns}]
        if unknown:
            raise AssistantError(
                f"business key column {unknown[0]!r} is not among the mapped columns of {table!r} "
                f"({', '.join(c.target for c in mapping.columns)})"
            )
        mapping = mapping.model_copy(update={"columns": tuple(
            c.model_copy(update={"key": c.target in intent.key}) for c in mapping.columns)})
    if not mapping.columns:
        raise AssistantError(
            f"no field of {op.entity or op.name!r} matches a column of table {table!r} with enough confidence; "
            f"name the table's columns after the fields, or load into a new table (`... into {table}_erp`)"
        )
    if not mapping.business_key:
        existing = catalog.table(table)
        if existing is not None and existing.primary_key:
            why = (f"no field of {op.entity or op.name!r} was matched to every column of the table's primary key "
                   f"({', '.join(existing.primary_key)})")
        else:
            why = f"entity {op.entity or op.name!r} declares no key and table {table!r} has no primary key"
        raise AssistantError(
            f"no business key for {table!r}: {why}; say which column identifies a row (`... keyed by COLUMN`)"
        )
    cursor = op.incremental_field if op.incremental_field and op.field(op.incremental_field) else None
    readable = op.incremental and cursor is not None
    incremental = readable if intent.incremental is None else intent.incremental and readable
    if intent.incremental and not readable:
        notes.append(f"{op.name} cannot read only changed records (no change-tracking field): full reads")
    notes.extend(_decision_notes(op, mapping, cursor if incremental else None))
    if intent.sensor and not readable:
        raise AssistantError(
            f"a sensor on new {intent.entity} needs an incremental read, and {op.name!r} of SDK {op.sdk!r} has no "
            "change-tracking field: use a schedule instead (`... every hour`)"
        )
    extract_id = _plural_table(op)
    triggers: list[dict[str, Any]] = []
    if intent.cron:
        triggers.append({"type": "schedule", "cron": intent.cron, "timezone": "UTC"})
    if intent.sensor:
        triggers.append({"type": "sensor", "kind": "erp_change", "activity": extract_id, "interval_seconds": 300})
    workflow_id = _existing_loader(catalog, active, table) or f"{table}_sync"[:63]
    data: dict[str, Any] = {
        "id": workflow_id,
        "description": f"{op.entity or op.name} from {op.sdk} into {table}",
        "activities": [
            {"id": extract_id, "type": "extract", "description": f"{op.name} ({op.paging} paging)",
             "config": {"sdk": op.sdk, "operation": op.name, "params": params, "page_size": 1000,
                        "incremental": bool(incremental), **({"cursor_field": cursor} if incremental else {})}},
            {"id": f"load_{table}"[:63], "type": "load",
             "config": {"input": extract_id, "table": table, "business_key": list(mapping.business_key),
                        "mapping": model_payload(mapping.to_mapping_spec())}},
        ],
        "steps": [{"activity": extract_id}, {"activity": f"load_{table}"[:63], "depends_on": [extract_id]}],
        "triggers": triggers,
    }
    if not mapping.new_table and mapping.unmapped_columns:
        notes.append(f"columns of {table} left unmapped: {', '.join(mapping.unmapped_columns)}")
    base = active.get(workflow_id)
    if base is not None:
        notes.append(f"changes the ACTIVE workflow {workflow_id!r} (it already loads {table})")
    return Proposal(definition=WorkflowDefinition.model_validate(data), mappings=(mapping,), notes=tuple(notes),
                    base_version=None)


def _decision_notes(op: OperationView, mapping: MappingProposal, cursor: str | None) -> list[str]:
    """Where the draft's merge key and change cursor come from (the SDK builder's decisions, with evidence)."""
    notes: list[str] = []
    sources = {c.target: c.source for c in mapping.columns}
    key = [f"{sources.get(k, k)} -> {k}" if sources.get(k, k) != k else k for k in mapping.business_key]
    decided = op.decisions.get("primary_key")
    if key and {sources.get(k, k) for k in mapping.business_key} == set(op.keys) and decided is not None:
        why = f" ({decided.source}: {decided.evidence})" if decided.evidence else ""
        notes.append(f"merges on {', '.join(key)}: the SDK's primary key of {op.name}{why}")
    elif key:
        notes.append(f"merges on {', '.join(key)}: the table's primary key")
    if cursor is not None:
        sent = f", sent as {op.incremental_param}" if op.incremental_param else ""
        notes.append(f"reads only records changed since the last run: cursor {cursor} (the SDK's change field"
                     f"{sent})")
    return notes


def _add_sensor(intent: Intent, catalog: CatalogView, active: dict[str, WorkflowDefinition]) -> Proposal | None:
    ranked = {op.name: score for score, op in resolve_operation(intent.entity, catalog, intent.params)}
    candidates = {intent.workflow: active[intent.workflow]} if intent.workflow in active else active
    if intent.workflow and intent.workflow not in active:
        raise AssistantError(
            f"workflow {intent.workflow!r} has no ACTIVE version for this tenant; its workflows: "
            f"{', '.join(active) or 'none'}"
        )
    for workflow_id, definition in sorted(candidates.items()):
        for activity in definition.activities:
            if not isinstance(activity, ExtractActivity) or activity.config.operation not in ranked:
                continue
            op = catalog.operation(activity.config.sdk, activity.config.operation)
            cursor = activity.config.cursor_field or (op.incremental_field if op is not None else None)
            if op is None or not op.incremental or cursor is None:
                raise AssistantError(
                    f"extract {activity.id!r} of workflow {workflow_id!r} reads {activity.config.operation!r}, "
                    "which has no change-tracking field: an ERP-change sensor needs one; use a schedule instead"
                )
            payload = model_payload(definition)
            for item in payload["activities"]:
                if item["id"] == activity.id:
                    item["config"]["incremental"] = True
            existing = [t for t in definition.triggers
                        if isinstance(t, SensorTrigger) and t.kind == "erp_change" and t.activity == activity.id]
            if not existing:
                payload.setdefault("triggers", []).append(
                    {"type": "sensor", "kind": "erp_change", "activity": activity.id, "interval_seconds": 300})
            payload.pop("lifecycle", None)
            return Proposal(definition=WorkflowDefinition.model_validate(payload),
                            notes=(f"adds an ERP-change sensor on {activity.id!r} to workflow {workflow_id!r}",))
    return None


def _schedule(intent: Intent, active: dict[str, WorkflowDefinition]) -> Proposal:
    assert intent.workflow is not None and intent.cron is not None
    definition = active.get(intent.workflow)
    if definition is None:
        raise AssistantError(
            f"workflow {intent.workflow!r} has no ACTIVE version for this tenant; its workflows: "
            f"{', '.join(sorted(active)) or 'none'}"
        )
    payload = model_payload(definition)
    payload.pop("lifecycle", None)
    triggers = [t for t in payload.get("triggers", []) if t.get("type") != "schedule"]
    triggers.insert(0, {"type": "schedule", "cron": intent.cron, "timezone": "UTC"})
    payload["triggers"] = triggers
    return Proposal(definition=WorkflowDefinition.model_validate(payload),
                    notes=(f"schedule of {intent.workflow!r} set to cron {intent.cron!r} (UTC)",))
