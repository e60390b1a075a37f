"""The SDK catalog of one tenant, read from ``erp_control.sdk_versions``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import Engine, select

from erp_platform.registry import SdkVersion
from erp_platform.workflows._catalog import (
    InMemorySdkCatalog,
    SdkCatalog,
    SdkInfo,
    catalog_entry_from_sdk_spec,
)
from erp_platform.workflows._scope import tenant_id_for


class RegistrySdkCatalog:
    """A snapshot of one tenant's SDK versions (every status), read once when created.

    Only rows of ``tenant`` are read: another tenant's SDKs are not in this catalog at all.
    """

    def __init__(self, engine: Engine, tenant: str) -> None:
        self.tenant = tenant
        with engine.connect() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            rows = conn.execute(
                select(SdkVersion.name, SdkVersion.version, SdkVersion.status, SdkVersion.capabilities,
                       SdkVersion.sdk_spec)
                .where(SdkVersion.tenant_id == tenant_id)
                .order_by(SdkVersion.name, SdkVersion.version)
            ).all()
        entries: list[SdkInfo] = []
        for row in rows:
            entry = catalog_entry_from_sdk_spec(
                {**row.sdk_spec, "name": row.name},  # the registry's name is the one workflows use
                version=row.version,
                status=row.status,
                capabilities=list(row.capabilities or []) or None,
            )
            entries.append(entry)
        self._catalog = InMemorySdkCatalog(entries)

    def sdk_names(self) -> Sequence[str]:
        return self._catalog.sdk_names()

    def versions(self, sdk: str) -> Sequence[SdkInfo]:
        return self._catalog.versions(sdk)


def registry_catalog_factory(engine: Engine) -> Callable[[str], SdkCatalog]:
    """A catalog factory for :class:`WorkflowRegistry`: each call reads one tenant's SDK versions."""

    def factory(tenant: str) -> SdkCatalog:
        return RegistrySdkCatalog(engine, tenant)

    return factory
