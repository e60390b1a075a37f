"""Tenant-scoped reads and writes of ``erp_control.sdk_versions``.

Every query starts from the tenant's slug and its row id, so one tenant's calls never see another
tenant's SDKs: to tenant B, tenant A's SDK simply does not exist.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, Row, func, insert, select, text, update

from erp_platform._errors import InvalidInputError, NotFoundError
from erp_platform.db import validate_slug
from erp_platform.registry import SdkVersion, Tenant
from erp_platform.sdks._models import ArtifactRefs, OperationDecisions, SdkTestReport, SdkVersionInfo
from erp_platform.tenancy import effective_quotas
from sdk_builder import SdkSpec, SkippedOperation

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_COLUMNS = tuple(SdkVersion.__table__.c)
_LOCK_NAMESPACE = 0x45525053  # "ERPS": advisory locks serialising the builds of one (tenant, SDK)


@dataclass(frozen=True)
class TenantRow:
    """What the SDK service needs of a tenant."""

    id: int
    slug: str
    status: str
    egress_private_allowlist: tuple[str, ...]
    max_api_calls_per_minute: int


def validate_sdk_name(name: object) -> str:
    """Return ``name`` if it is a valid SDK name, else raise InvalidInputError with the rule."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidInputError(
            f"SDK name {name!r} is invalid: use 1-63 characters a-z, 0-9 and '_', starting with a letter "
            "(e.g. 'business_central')"
        )
    return name


def validate_version(version: object) -> int:
    """Return ``version`` if it is a positive integer, else raise InvalidInputError."""
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise InvalidInputError(f"SDK version {version!r} is invalid: versions are 1, 2, 3, ...")
    return version


def tenant_row(conn: Connection, slug: str) -> TenantRow:
    """The live tenant ``slug``; NotFoundError when it does not exist or was deleted."""
    validate_slug(slug)
    row = conn.execute(
        select(Tenant.id, Tenant.slug, Tenant.status, Tenant.tier, Tenant.egress_private_allowlist,
               Tenant.max_api_calls_per_minute).where(Tenant.slug == slug)
    ).first()
    if row is None or row.status == "deleted":
        raise NotFoundError(f"tenant {slug!r} does not exist; list tenants with `erp tenant list`")
    overrides = {"max_api_calls_per_minute": row.max_api_calls_per_minute}
    quotas = effective_quotas(row.tier, overrides)
    return TenantRow(
        id=row.id,
        slug=row.slug,
        status=row.status,
        egress_private_allowlist=tuple(row.egress_private_allowlist or ()),
        max_api_calls_per_minute=quotas.max_api_calls_per_minute,
    )


def lock_sdk(conn: Connection, tenant_id: int, name: str) -> None:
    """Serialise builds and status changes of one SDK of one tenant until the transaction ends."""
    conn.execute(
        text("SELECT pg_advisory_xact_lock(:ns, hashtext(:key))"),
        {"ns": _LOCK_NAMESPACE, "key": f"sdk:{tenant_id}:{name}"},
    )


def next_version(conn: Connection, tenant_id: int, name: str) -> int:
    """The newest version of the SDK plus one (1 for a new SDK); versions are never reused."""
    newest = conn.execute(
        select(func.max(SdkVersion.version)).where(SdkVersion.tenant_id == tenant_id, SdkVersion.name == name)
    ).scalar()
    return int(newest or 0) + 1


def insert_version(conn: Connection, values: dict[str, Any]) -> Row[Any]:
    """Insert one ``sdk_versions`` row and return it."""
    return conn.execute(insert(SdkVersion).values(**values).returning(*_COLUMNS)).one()


def versions(conn: Connection, tenant_id: int, name: str | None = None) -> Sequence[Row[Any]]:
    """The tenant's SDK versions (of one SDK when ``name`` is given), by name then version."""
    stmt = select(*_COLUMNS).where(SdkVersion.tenant_id == tenant_id)
    if name is not None:
        stmt = stmt.where(SdkVersion.name == name)
    return conn.execute(stmt.order_by(SdkVersion.name, SdkVersion.version)).all()


def version_row(
    conn: Connection, tenant: TenantRow, name: str, version: int, *, for_update: bool = False
) -> Row[Any]:
    """One version of one SDK of the tenant; NotFoundError naming what exists otherwise."""
    stmt = select(*_COLUMNS).where(
        SdkVersion.tenant_id == tenant.id, SdkVersion.name == name, SdkVersion.version == version
    )
    if for_update:
        stmt = stmt.with_for_update()
    row = conn.execute(stmt).first()
    if row is None:
        raise not_found(conn, tenant, name, version)
    return row


def newest(
    conn: Connection, tenant: TenantRow, name: str, statuses: Sequence[str]
) -> Row[Any] | None:
    """The newest version of the SDK in the first of ``statuses`` that has one (None when none has)."""
    rows = versions(conn, tenant.id, name)
    if not rows:
        raise not_found(conn, tenant, name, None)
    for status in statuses:
        matching = [r for r in rows if r.status == status]
        if matching:
            return matching[-1]
    return None


def not_found(conn: Connection, tenant: TenantRow, name: str, version: int | None) -> NotFoundError:
    """The error for a missing SDK or version, listing what the tenant has."""
    rows = versions(conn, tenant.id, name)
    if not rows:
        names = sorted({r.name for r in versions(conn, tenant.id)})
        known = ", ".join(names) if names else "none"
        return NotFoundError(
            f"SDK {name!r} of tenant {tenant.slug!r} does not exist (its SDKs: {known}); build it with "
            f"`erp sdk build {tenant.slug} --spec FILE`"
        )
    known = ", ".join(f"v{r.version} {r.status}" for r in rows)
    return NotFoundError(
        f"SDK {name!r} of tenant {tenant.slug!r} has no version {version} (versions: {known})"
    )


def set_status(conn: Connection, row_id: int, status: str, **stamps: Any) -> Row[Any]:
    """Change one row's status (and timestamps such as ``activated_at=func.now()``)."""
    return conn.execute(
        update(SdkVersion).where(SdkVersion.id == row_id).values(status=status, **stamps).returning(*_COLUMNS)
    ).one()


def find_identical(conn: Connection, tenant_id: int, name: str, *, spec_hash: str, builder_version: str,
                   code_hash: str) -> Row[Any] | None:
    """The newest non-revoked version built from the same spec, options and builder (None if there is none)."""
    return conn.execute(
        select(*_COLUMNS).where(
            SdkVersion.tenant_id == tenant_id, SdkVersion.name == name, SdkVersion.spec_hash == spec_hash,
            SdkVersion.builder_version == builder_version, SdkVersion.code_hash == code_hash,
            SdkVersion.status != "REVOKED",
        ).order_by(SdkVersion.version.desc()).limit(1)
    ).first()


def to_info(
    tenant: str, row: Row[Any], *, warnings: Sequence[str] = (), timings: dict[str, float] | None = None,
    unchanged: bool = False,
) -> SdkVersionInfo:
    """A row as :class:`SdkVersionInfo`."""
    spec: dict[str, Any] = row.sdk_spec or {}
    try:
        parsed: SdkSpec | None = SdkSpec.model_validate(spec)
    except ValidationError:  # a row written by a builder whose SdkSpec this one cannot read
        parsed = None
    tests = SdkTestReport.model_validate(row.test_results) if row.test_results else None
    return SdkVersionInfo(
        tenant=tenant,
        name=row.name,
        version=row.version,
        status=row.status,
        title=str(spec.get("title", "")),
        source_format=str(spec.get("source_format", "")),
        base_url=str(spec.get("base_url", "")),
        spec_hash=row.spec_hash,
        code_hash=row.code_hash,
        wasm_hash=row.wasm_hash,
        builder_version=row.builder_version,
        operation_count=row.operation_count,
        skipped_operations=tuple(SkippedOperation.model_validate(s) for s in row.skipped_operations or ()),
        capabilities=tuple(row.capabilities or ()),
        allowed_domains=tuple(row.allowed_domains or ()),
        test_results=tests,
        security_scan=dict(row.security_scan or {}),
        artifacts=ArtifactRefs(
            spec=row.spec_ref, code=row.code_ref, facade=row.facade_ref, wasm=row.wasm_ref,
            precompiled=row.precompiled_ref,
        ),
        created_by=row.created_by,
        created_at=row.created_at,
        activated_at=row.activated_at,
        revoked_at=row.revoked_at,
        base_url_evidence=parsed.base_url_evidence if parsed is not None else "",
        credentials=parsed.credentials if parsed is not None else (),
        decisions=tuple(OperationDecisions.of(op) for op in parsed.operations if op.collection)
        if parsed is not None else (),
        overrides=parsed.overrides if parsed is not None else (),
        unchanged=unchanged,
        warnings=tuple(warnings),
        timings=dict(timings or {}),
    )
