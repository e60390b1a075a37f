"""The platform's services for one process, built from settings. Nothing here is shared between tenants:
every service takes the tenant as an argument and keys all state by it."""

from __future__ import annotations

from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from erp_platform._errors import ConfigurationError, NotFoundError
from erp_platform.config import Settings, load_settings
from erp_platform.db import database_url, make_engine
from erp_platform.registry import current_revision, head_revision
from erp_platform.tenancy import TenantService

if TYPE_CHECKING:
    from erp_platform.credentials import CredentialStore
    from erp_platform.objectstore import ObjectStore


class Platform:
    """Settings, database engine and stores of this process; a context manager that disposes of them."""

    def __init__(
        self, settings: Settings | None = None, *, application_name: str = "erp-platform", pooled: bool = True
    ) -> None:
        self.settings = settings or load_settings()
        self.database_url = database_url(self.settings)
        self.engine: Engine = make_engine(self.database_url, application_name=application_name, pooled=pooled)
        self._closed = False

    def __enter__(self) -> Platform:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Dispose of the engine's pool (idempotent)."""
        if not self._closed:
            self._closed = True
            self.engine.dispose()

    def require_initialised(self) -> None:
        """Refuse to work on a database whose control-plane schema is missing or older than this code."""
        current = current_revision(self.engine)
        if current is None:
            raise ConfigurationError(
                "the control-plane schema does not exist in this database: run `erp init`"
            )
        if current != head_revision():
            raise ConfigurationError(
                f"the control-plane schema is at revision {current}, this code needs {head_revision()}: "
                "run `erp init` to upgrade"
            )

    @cached_property
    def objects(self) -> ObjectStore:
        """The object store, enforcing each tenant's ``max_storage_gb`` on every write."""
        from erp_platform.objectstore import StorageQuota, make_object_store

        store = make_object_store(self.settings)
        store.enforce_quota(StorageQuota(self._storage_limit))
        return store

    @cached_property
    def credentials(self) -> CredentialStore:
        from erp_platform.credentials import make_credential_store

        return make_credential_store(self.settings, self.engine)

    @cached_property
    def tenants(self) -> TenantService:
        return TenantService(self.engine, purge_hooks=(self._purge_credentials, self._purge_objects))

    def _storage_limit(self, slug: str) -> int | None:
        """A tenant's storage limit in bytes (None for a tenant that does not exist or no longer does)."""
        from erp_platform.objectstore import GIB

        try:
            info = self.tenants.get(slug)
        except NotFoundError:
            return None
        return info.quotas["max_storage_gb"] * GIB

    def _purge_credentials(self, slug: str) -> None:
        self.credentials.purge_tenant(slug)

    def _purge_objects(self, slug: str) -> None:
        from erp_platform.objectstore import tenant_prefix

        self.objects.delete_prefix(tenant_prefix(slug))
