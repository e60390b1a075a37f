"""The tools the model may call: read the tenant's catalog, ask the offline mapper, submit a draft.

Every tool works on ONE tenant's catalog, built before the conversation turn: a name from another tenant
is simply unknown. What goes back to the provider is metadata (names, types, counts, problems); sample
records only when the tenant opted in, and never the dry run's rows otherwise.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from assistant._catalog import CatalogView
from assistant._mapper import propose_mapping
from assistant._model import ToolResult, ToolSpec, ToolUse
from assistant._pipeline import DraftPipeline, DraftReport
from assistant._schema import submit_schema
from erp_platform._errors import ErpPlatformError
from erp_platform.sdks import SdkService
from erp_platform.workflows import WorkflowDefinition, definition_payload

SUBMIT = "submit_workflow"
_WITHHELD = "<withheld>"


def _strings(value: Any) -> set[str]:
    """Every string (keys and values) inside a JSON value."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {k for k in value if isinstance(k, str)} | {s for v in value.values() for s in _strings(v)}
    if isinstance(value, list):
        return {s for v in value for s in _strings(v)}
    return set()


def _obj(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


@dataclass
class ToolOutcome:
    result: ToolResult
    report: DraftReport | None = None
    definition: WorkflowDefinition | None = None


class ToolBox:
    """Runs the model's tool calls for one tenant and one conversation."""

    def __init__(self, pipeline: DraftPipeline, sdks: SdkService, *, share_samples: bool,
                 conversation_id: str | None, source: str) -> None:
        self.pipeline = pipeline
        self.catalog: CatalogView = pipeline.catalog
        self._sdks = sdks
        self._share = share_samples
        self._conversation = conversation_id
        self._source = source

    def specs(self) -> tuple[ToolSpec, ...]:
        sdks = sorted(s.name for s in self.catalog.sdks)
        operation = _obj({"sdk": {"type": "string", "enum": sdks},
                          "operation": {"type": "string", "enum": sorted({o.name for o in self.catalog.operations()})}},
                         ["sdk", "operation"])
        specs = [
            ToolSpec(name="list_catalog", description="This tenant's ACTIVE SDKs (credentials they need) and their "
                     "collection reads (entity, paging, primary key, incremental cursor), its tables and its "
                     "workflows with versions.",
                     input_schema=_obj({}, [])),
            ToolSpec(name="describe_operation", description="The entity fields of one collection read: exact names, "
                     "kinds, column types; the SDK builder's decisions with their evidence (record selector, paging, "
                     "primary key = the default business key, incremental cursor param and field = the default "
                     "cursor); parameters; credentials the SDK needs.",
                     input_schema=operation),
            ToolSpec(name="describe_table", description="Columns (types, primary key) of one table of this tenant's "
                     "schema.", input_schema=_obj({"table": {"type": "string"}}, ["table"])),
            ToolSpec(name="get_workflow", description="The ACTIVE (else newest) definition of one of this tenant's "
                     "workflows.", input_schema=_obj({"workflow_id": {"type": "string"}}, ["workflow_id"])),
            ToolSpec(name="propose_mapping", description="The offline mapper's column proposals (confidence and reason "
                     "each) for loading a collection read into a table (existing or new). Re-rank or explain them; "
                     "never add a field it does not list.",
                     input_schema=_obj({**operation["properties"], "table": {"type": "string"}},
                                       ["sdk", "operation", "table"])),
            ToolSpec(name=SUBMIT, description="Submit a complete workflow definition. It is validated, compiled to "
                     "Dagster and dry-run on the first page of each extract; problems come back to be repaired. A "
                     "valid one is stored as a DRAFT version: only the user can activate it.",
                     input_schema=submit_schema(self.catalog)),
        ]
        if self._share:
            specs.insert(5, ToolSpec(name="sample_records", description="Up to 5 records of a collection read "
                                     "(the tenant opted in to sharing samples).", input_schema=operation))
        return tuple(specs)

    # -- running ----------------------------------------------------------------------------------------
    def run(self, call: ToolUse) -> ToolOutcome:
        try:
            handler = getattr(self, f"_tool_{call.name}", None)
            if handler is None or (call.name == "sample_records" and not self._share):
                names = ", ".join(s.name for s in self.specs())
                return self._error(call, f"unknown tool {call.name!r}: use one of {names}")
            outcome: ToolOutcome = handler(call)
            return outcome
        except (ErpPlatformError, ValidationError, KeyError, TypeError) as exc:
            return self._error(call, f"{type(exc).__name__}: {exc}"[:2000])

    @staticmethod
    def _ok(call: ToolUse, data: Any) -> ToolOutcome:
        return ToolOutcome(ToolResult(tool_use_id=call.id, content=json.dumps(data, default=str)))

    @staticmethod
    def _error(call: ToolUse, message: str) -> ToolOutcome:
        return ToolOutcome(ToolResult(tool_use_id=call.id, content=message, is_error=True))

    def _tool_list_catalog(self, call: ToolUse) -> ToolOutcome:
        c = self.catalog
        return self._ok(call, {
            "sdks": [{"name": s.name, "version": s.version, "operations": [
                {"name": o.name, "entity": o.entity, "paging": o.paging, "primary_key": list(o.keys),
                 "incremental": o.incremental, "cursor_field": o.incremental_field,
                 "required_params": list(o.required_params)} for o in s.operations],
                "credentials": [cred.name for cred in s.credentials]} for s in c.sdks],
            "tables": [{"name": t.name, "columns": [col.name for col in t.columns]} for t in c.tables],
            "workflows": [{"id": w.id, "versions": [f"v{v.version} {v.status}" for v in w.versions]}
                          for w in c.workflows],
        })

    def _operation(self, call: ToolUse) -> Any:
        sdk, name = str(call.input.get("sdk", "")), str(call.input.get("operation", ""))
        if self.catalog.sdk(sdk) is None:
            raise KeyError(self.catalog.unknown_sdk_message(sdk))
        op = self.catalog.operation(sdk, name)
        if op is None:
            raise KeyError(self.catalog.unknown_operation_message(sdk, name))
        return op

    def _tool_describe_operation(self, call: ToolUse) -> ToolOutcome:
        op = self._operation(call)
        return self._ok(call, op.model_dump(mode="json"))

    def _tool_describe_table(self, call: ToolUse) -> ToolOutcome:
        name = str(call.input.get("table", ""))
        table = self.catalog.table(name)
        if table is None:
            known = ", ".join(t.name for t in self.catalog.tables) or "none yet"
            return self._error(call, f"table {name!r} does not exist in this tenant's schema (tables: {known}); "
                                     "a load may create it")
        return self._ok(call, table.model_dump(mode="json"))

    def _tool_get_workflow(self, call: ToolUse) -> ToolOutcome:
        workflow_id = str(call.input.get("workflow_id", ""))
        if self.catalog.workflow(workflow_id) is None:
            known = ", ".join(w.id for w in self.catalog.workflows) or "none yet"
            return self._error(call, f"workflow {workflow_id!r} does not exist for this tenant (workflows: {known})")
        record, definition = self.pipeline.registry.get(self.pipeline.tenant, workflow_id)
        return self._ok(call, {"version": record.version, "status": record.status,
                               "definition": definition_payload(definition)})

    def _tool_propose_mapping(self, call: ToolUse) -> ToolOutcome:
        op = self._operation(call)
        table = str(call.input.get("table", ""))
        proposal = propose_mapping(op, table, self.catalog.table(table))
        return self._ok(call, proposal.model_dump(mode="json"))

    def _tool_sample_records(self, call: ToolUse) -> ToolOutcome:
        op = self._operation(call)
        pages = self._sdks.call(self.pipeline.tenant, op.sdk, op.name, {"_page_size": 5}, pages=1,
                                run_id="assistant-samples")
        return self._ok(call, pages[0].records[:5])

    def _tool_submit_workflow(self, call: ToolUse) -> ToolOutcome:
        proposed = call.input.get("definition")
        if not isinstance(proposed, dict):
            return self._error(call, "submit_workflow needs `definition`: a workflow definition object")
        definition, report = self.pipeline.check(proposed)
        if not report.ok:
            own = _strings(proposed)  # what the model sent is not data: it may be quoted back
            lines = [f"{p.path}: {self._redact(p.message, own)}" for p in report.problems]
            if report.dry_run is not None and report.dry_run.blocked_by_credentials:
                content = ("the draft is valid and compiles, but its dry run cannot call the ERP: the tenant has not "
                           "set credentials the SDK needs. Changing the draft cannot fix this: tell the user to set "
                           "them, then ask again:\n" + "\n".join(f"- {line}" for line in lines))
            else:
                content = (f"the draft has {len(lines)} problem(s) at stage {report.stage}; fix every one and submit "
                           "again:\n" + "\n".join(f"- {line}" for line in lines))
            return ToolOutcome(ToolResult(tool_use_id=call.id, is_error=True, content=content), report=report,
                               definition=definition)
        return ToolOutcome(ToolResult(tool_use_id=call.id, content=json.dumps(self._summary(report))), report=report,
                           definition=definition)

    def _summary(self, report: DraftReport) -> dict[str, Any]:
        """What the model hears about a valid draft: graph and counts, rows only with the tenant's consent."""
        loads = []
        for load in report.dry_run.loads if report.dry_run else ():
            item: dict[str, Any] = {"activity": load.activity, "table": load.table, "columns": list(load.columns),
                                    "rows": load.row_count}
            if self._share:
                item["first_rows"] = [list(r) for r in load.rows[:3]]
            loads.append(item)
        compiled = report.compiled
        return {
            "valid": True, "stored_as": "DRAFT (not active: the user decides)",
            "assets": [a.key for a in compiled.assets] if compiled else [],
            "schedules": [s.cron for s in compiled.schedules] if compiled else [],
            "sensors": [s.name for s in compiled.sensors] if compiled else [],
            "dry_run": {"extracts": [e.model_dump() for e in report.dry_run.extracts] if report.dry_run else [],
                        "loads": loads},
            "changes": list(report.changes),
        }

    def _redact(self, message: str, own: set[str]) -> str:
        """Without the tenant's consent, quoted values that are not catalog names are withheld."""
        if self._share:
            return message
        names = {f.name for op in self.catalog.operations() for f in op.fields}
        names |= {t.name for t in self.catalog.tables} | {c.name for t in self.catalog.tables for c in t.columns}
        names |= {op.name for op in self.catalog.operations()} | {s.name for s in self.catalog.sdks} | own
        names |= {c.name for s in self.catalog.sdks for c in s.credentials} | {self.catalog.tenant, "$VALUE"}

        def keep(match: re.Match[str]) -> str:
            value = match.group(2)
            return match.group(0) if value in names else match.group(1) + _WITHHELD + match.group(1)

        text = re.sub(r"(['\"])(.*?)\1", keep, message)
        return re.sub(r"(sample[s]?( bad)? values?:?).*", r"\1 " + _WITHHELD, text, flags=re.IGNORECASE)
