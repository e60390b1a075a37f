"""The dry run: the first page of each extract through the tenant's real WASM SDK against its ERP, then
the draft's transforms and mappings applied in memory, showing the rows each load would write.

Nothing is written: no object, no checkpoint, no cursor, no row in the tenant's schema. The SDK calls
themselves go through the normal host (egress rules, credentials, rate limits, request audit). An SDK
whose credentials the tenant has not set is not called: the dry run names each missing credential, what
the ERP uses it for and the exact command that sets it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, select

from assistant._catalog import CredentialView
from erp_platform._errors import ErpPlatformError, Problem
from erp_platform.orchestration._artifacts import CompiledInputs
from erp_platform.registry import SdkVersion
from erp_platform.sdks import SdkService
from erp_platform.transforms import ExecutionContext, apply_mapping, apply_transform, frame_from_records
from erp_platform.workflows import (
    ExtractActivity,
    LoadActivity,
    TransformActivity,
    analyse_steps,
    main_input,
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExtractPreview(_Frozen):
    activity: str
    sdk: str
    operation: str
    records: int
    more_pages: bool


class LoadPreview(_Frozen):
    """The rows a load would merge into ``table`` (first rows only), as text."""

    activity: str
    table: str
    business_key: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[str | None, ...], ...]
    row_count: int


_CREDENTIALS_PATH = ".config.sdk"  # where a missing credential is reported (nothing else reports there)


class CredentialNeed(_Frozen):
    """A credential an SDK of the draft needs and the tenant has not set."""

    sdk: str
    sdk_version: int
    credential: CredentialView


class DryRun(_Frozen):
    extracts: tuple[ExtractPreview, ...] = ()
    loads: tuple[LoadPreview, ...] = ()
    problems: tuple[tuple[str, str], ...] = ()  # (path, message)
    credentials_needed: tuple[CredentialNeed, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def blocked_by_credentials(self) -> bool:
        """True when missing credentials are the only problem (no change to the draft can fix it)."""
        return bool(self.credentials_needed) and all(path.endswith(_CREDENTIALS_PATH) for path, _ in self.problems)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | float | int | bool):
        return str(value)
    return str(value)[:200]


def missing_credentials(engine: Engine, service: SdkService, inputs: CompiledInputs) -> tuple[CredentialNeed, ...]:
    """The credentials the draft's SDK versions declare that the tenant's store does not hold (names only:
    no secret is read)."""
    needs: list[CredentialNeed] = []
    tenant = inputs.tenant
    for sdk in sorted(inputs.sdks.values(), key=lambda s: s.name):
        with engine.connect() as conn:
            row = conn.execute(
                select(SdkVersion.name, SdkVersion.sdk_spec).where(
                    SdkVersion.tenant_id == tenant.id, SdkVersion.name == sdk.name, SdkVersion.version == sdk.version)
            ).one_or_none()
        if row is None:
            continue  # resolved a moment ago: the extract's own call reports what happened to it
        for cred in service.missing_credentials(tenant.slug, row):
            needs.append(CredentialNeed(sdk=sdk.name, sdk_version=sdk.version, credential=CredentialView(
                name=cred.name, location=cred.location.value, wire_name=cred.wire_name, purpose=cred.purpose[:300],
                command=cred.command(tenant.slug, sdk.name))))
    return tuple(needs)


def credentials_message(tenant: str, needs: tuple[CredentialNeed, ...], sdk: str) -> str:
    """Why an extract of ``sdk`` was not dry-run, with the command that sets each missing credential."""
    own = [n for n in needs if n.sdk == sdk]
    version = own[0].sdk_version if own else 0
    listed = "; ".join(f"{n.credential.name} ({n.credential.purpose or n.credential.wire_name}): "
                       f"`{n.credential.command}`" for n in own)
    return (f"SDK {sdk!r} v{version} needs credential{'s' if len(own) > 1 else ''} that tenant {tenant!r} has "
            f"not set, so the dry run did not call the ERP; set {'each' if len(own) > 1 else 'it'} with the value "
            f"from the ERP: {listed}; then ask again")


def dry_run(service: SdkService, inputs: CompiledInputs, *, rows: int, show: int = 10,
            needs: tuple[CredentialNeed, ...] = ()) -> DryRun:
    """Run the draft on the first page of each extract; every failure becomes a problem with its path.

    ``needs`` are the credentials the tenant has not set (:func:`missing_credentials`): the extracts of
    those SDKs are not called, and the problem says how to set them."""
    definition = inputs.definition
    tenant = inputs.tenant.slug
    lacking = {n.sdk for n in needs}
    graph, _ = analyse_steps(definition)
    index = {a.id: i for i, a in enumerate(definition.activities)}
    frames: dict[str, pl.LazyFrame] = {}
    extracts: list[ExtractPreview] = []
    loads: list[LoadPreview] = []
    problems: list[Problem] = []
    run_id = f"assistant-dry-run-{uuid.uuid4().hex[:12]}"
    for activity_id in graph.order:
        i = index[activity_id]
        activity = definition.activities[i]
        path = f"activities[{i}]"
        try:
            if isinstance(activity, ExtractActivity):
                cfg = activity.config
                if cfg.sdk in lacking:
                    problems.append(Problem(path + _CREDENTIALS_PATH, credentials_message(tenant, needs, cfg.sdk)))
                    continue
                sdk = inputs.sdks[cfg.sdk]
                pages = service.call(tenant, cfg.sdk, cfg.operation, {**cfg.params, "_page_size": rows},
                                     version=sdk.version, pages=1, run_id=run_id)
                page = pages[0]
                fields = sdk.entity_fields(sdk.operation(cfg.operation).get("entity"))
                frames[activity.id] = frame_from_records(page.records, fields, where=f"{cfg.operation} page 1").lazy()
                extracts.append(ExtractPreview(activity=activity.id, sdk=cfg.sdk, operation=cfg.operation,
                                               records=len(page.records), more_pages=page.next is not None))
                continue
            main = main_input(activity, graph)
            upstream = graph.upstream.get(activity.id, ())
            if main is None or any(u not in frames for u in upstream):
                continue  # an upstream failed: reported there
            if isinstance(activity, TransformActivity):
                ctx = ExecutionContext(tenant=tenant, workflow=definition.id, run_id=run_id, step=activity.id,
                                       run_started_at=datetime.now(UTC))
                inputs_by_id = {u: frames[u] for u in upstream}
                out = apply_transform(activity.config, inputs_by_id, main=main, ctx=ctx)
                frames[activity.id] = out.collect().lazy()
            elif isinstance(activity, LoadActivity):
                plan = inputs.plans.get(activity.id)
                if plan is None:
                    reasons = "; ".join(p.message for p in inputs.problems) or "its input could not be typed"
                    problems.append(Problem(path, f"load {activity.id!r} has no plan: {reasons}"))
                    continue
                mapped = apply_mapping(frames[main], plan.mapping, where=f"load {activity.id!r}")
                head = mapped.head(show)
                loads.append(LoadPreview(
                    activity=activity.id, table=activity.config.table,
                    business_key=plan.business_key, columns=tuple(mapped.columns),
                    rows=tuple(tuple(_text(v) for v in row) for row in head.iter_rows()),
                    row_count=mapped.height,
                ))
        except ErpPlatformError as exc:
            problems.append(Problem(path, f"dry run of {activity.type} {activity.id!r} failed: {exc}"))
    return DryRun(extracts=tuple(extracts), loads=tuple(loads),
                  problems=tuple((p.path, p.message) for p in problems), credentials_needed=needs)
