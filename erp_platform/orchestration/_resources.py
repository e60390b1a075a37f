"""Each ACTIVE SDK version of a tenant as a Dagster resource of that tenant's code location.

:class:`ErpSdkResource` is what the extract assets of compiled workflows use, and what a hand-written asset
takes to call the SDK through its typed facade::

    @dg.asset(key=["acme", "reports", "acme__top_customers"])
    def top_customers(mock_erp: ErpSdkResource) -> dg.MaterializeResult:
        page = mock_erp.list_customers(_page_size=100)          # Page[Customer], typed records
        ...

Every call runs in the WASM sandbox with the tenant's egress policy and credentials, the tenant's request
rate limit shared by all its processes (and any rate_limit flag), block and pause flags, and the request
audit trail (``erp_control.sdk_requests``, with the run id): the same path as the generated extract assets.
A resource only ever opens its own tenant's SDK, and only inside that tenant's runs or code location.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import dagster as dg
from pydantic import Field, PrivateAttr
from sqlalchemy import Engine, select

from erp_platform._errors import (
    ArtifactIntegrityError,
    BlockedError,
    ConflictError,
    PausedError,
    TenantIsolationError,
)
from erp_platform.orchestration._process import LOCATION_TENANT_ENV, process_platform
from erp_platform.registry import SdkVersion
from erp_platform.tenancy import TenantInfo

if TYPE_CHECKING:
    from erp_platform.orchestration._artifacts import SdkArtifact
    from erp_platform.sandbox import PageResult, SdkSession

RESERVED_RESOURCE_KEYS = frozenset({"io_manager"})


class ErpSdkResource(dg.ConfigurableResource["ErpSdkResource"]):
    """An ACTIVE SDK version of the tenant, run in the WASM sandbox (see the module docstring).

    The fields are what the UI's Resources view shows; they are filled from the registry when the code
    location is built. Operations are methods of the SDK's typed facade (``list_customers``,
    ``iter_list_customers``, ...): call them on the resource. ``call`` and ``iter_pages`` run an
    operation by name with a parameter dict.
    """

    tenant: str = Field(description="the tenant whose SDK this is (the only tenant that can use it)")
    sdk_name: str = Field(description="the SDK's name")
    sdk_version: int = Field(description="the ACTIVE version used")
    spec_hash: str = Field(description="sha256 of the spec and build options the version was built from")
    wasm_hash: str = Field(description="sha256 of the WebAssembly component (checked when it is loaded)")
    base_url: str = Field(description="where requests go")
    allowed_domains: list[str] = Field(description="the only hosts the sandbox lets requests reach")
    operations: list[str] = Field(description="the SDK's operations (methods of the typed facade)")

    _run_id: str | None = PrivateAttr(default=None)
    _workflow: str | None = PrivateAttr(default=None)
    _session: SdkSession | None = PrivateAttr(default=None)
    _client: Any = PrivateAttr(default=None)
    _services: dict[str | None, Any] = PrivateAttr(default_factory=dict)  # per workflow, see open_session

    # -- Dagster lifecycle ---------------------------------------------------------------------------
    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Bind to the run (its id goes to the request audit trail); the session opens on the first call."""
        run = context.dagster_run
        self._run_id = run.run_id if run is not None else None
        self._workflow = run.tags.get("erp/workflow") if run is not None else None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Close the session (flushing its request records)."""
        self.close()

    # -- calls ---------------------------------------------------------------------------------------
    def call(self, operation: str, params: Mapping[str, Any] | None = None) -> PageResult:
        """Run ``operation`` for one page (``_page_size``, ``_next``, ``_since`` and its parameters)."""
        return self._open().call(operation, params)

    def iter_pages(self, operation: str, params: Mapping[str, Any] | None = None) -> Iterator[PageResult]:
        """Run ``operation`` page after page until the last one."""
        return self._open().iter_pages(operation, params)

    @property
    def client(self) -> Any:
        """The SDK's typed facade: one method per operation returning pydantic models."""
        if self._client is None:
            self._client = facade_class(self.tenant, self.sdk_name, self.sdk_version, self.spec_hash)(self)
        return self._client

    def __getattr__(self, name: str) -> Any:
        """Operations of the typed facade, called on the resource (``erp.list_customers(...)``)."""
        operations = self.__dict__.get("operations") or ()
        if not name.startswith("_") and (name in operations or name.removeprefix("iter_") in operations):
            method = getattr(self.client, name, None)
            if method is not None:
                return method
        return super().__getattr__(name)  # type: ignore[misc]

    def declared_fields(self) -> dict[str, Any]:
        """The resource's fields, to build the same resource in another process (a page worker)."""
        return {name: getattr(self, name) for name in type(self).model_fields}

    def open_session(self, *, run_id: str | None, workflow: str | None = None) -> SdkSession:
        """A new sandbox session of this version, with every platform rule applied (the caller closes it).

        Raises:
            TenantIsolationError: the resource belongs to another tenant than the running code.
            BlockedError, PausedError: a block or pause flag applies to the tenant, workflow or SDK.
            ArtifactIntegrityError: the registry's version no longer matches what the location was built from.
        """
        from erp_platform.controls import ControlFlags, scope_ids_for
        from erp_platform.queue import PostgresRateLimiter
        from erp_platform.sdks import SdkService

        self._check_tenant()
        plat = process_platform()
        sdks = [(self.sdk_name, self.sdk_version)]
        flags = ControlFlags(plat.engine).applicable(scope_ids_for(self.tenant, workflow, sdks))
        for flag in flags:
            if flag.flag_type == "block":
                raise BlockedError(f"SDK {self.sdk_name} v{self.sdk_version} of tenant {self.tenant!r} is "
                                   f"blocked by {flag.label}")
        for flag in flags:
            if flag.flag_type == "pause":
                raise PausedError(f"SDK {self.sdk_name} v{self.sdk_version} of tenant {self.tenant!r} is held "
                                  f"by {flag.label}; resume the run once the flag is cleared")
        service = self._services.get(workflow)
        if service is None:
            # one service per workflow and run: sessions opened together (parallel page reads) share the
            # component it verified once, and the workflow's rate limits
            limiter = PostgresRateLimiter(plat.engine, workflow=workflow, sdks=sdks,
                                          lease_seconds=plat.settings.rate_limit_lease_seconds)
            service = self._services[workflow] = SdkService.from_platform(plat, rate_limiter=limiter)
        info = service.get(self.tenant, self.sdk_name, self.sdk_version)
        if (info.spec_hash, info.wasm_hash) != (self.spec_hash, self.wasm_hash):
            raise ArtifactIntegrityError(
                f"SDK {self.sdk_name} v{self.sdk_version} of tenant {self.tenant!r} in the registry no longer "
                "matches the code location's resource (spec or component hash differs); the code location "
                "reloads with the registry's version: start a new run"
            )
        return service.open_session(self.tenant, self.sdk_name, self.sdk_version, run_id=run_id)

    def close(self) -> None:
        """Close the open session, if any (idempotent)."""
        session, self._session = self._session, None
        if session is not None:
            session.close()

    def _open(self) -> SdkSession:
        if self._session is None:
            run_id, workflow = self._run_id, self._workflow
            step = _current_step()
            if step is not None:
                run_id, workflow = step.run_id, step.run.tags.get("erp/workflow", workflow)
            self._session = self.open_session(run_id=run_id, workflow=workflow)
        return self._session

    def _check_tenant(self) -> None:
        running = running_tenant()
        if running != self.tenant:
            where = f"tenant {running!r}'s code" if running else "code outside a tenant's run or code location"
            raise TenantIsolationError(
                f"SDK {self.sdk_name} of tenant {self.tenant!r} cannot be used by {where}: each tenant's code "
                "location provides its own SDK resources; use those"
            )


def _current_step() -> dg.OpExecutionContext | None:
    try:
        return dg.OpExecutionContext.get()
    except dg.DagsterInvariantViolationError:
        return None


def running_tenant() -> str | None:
    """The tenant whose code runs in this process: the current run's code location, else the code server's."""
    from erp_platform.queue import location_tenant, run_request

    step = _current_step()
    if step is not None:
        return location_tenant(run_request(step.run).location) or step.run.tags.get("erp/tenant")
    return os.environ.get(LOCATION_TENANT_ENV) or None


# -- the registry's ACTIVE versions -----------------------------------------------------------------------
@dataclass(frozen=True)
class ActiveSdk:
    """One ACTIVE SDK version of a tenant and the resource key it is provided under."""

    key: str
    resource: ErpSdkResource


def resource_key(name: str, version: int, newest: int) -> str:
    """``mock_erp`` for the newest ACTIVE version of an SDK, ``mock_erp__v1`` for older ACTIVE ones."""
    return name if version == newest else f"{name}__v{version}"


def active_sdks(engine: Engine, tenant: TenantInfo) -> list[ActiveSdk]:
    """Every ACTIVE SDK version of ``tenant`` as a resource, by key (a deterministic order)."""
    t = SdkVersion.__table__
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.c.name, t.c.version, t.c.spec_hash, t.c.wasm_hash, t.c.sdk_spec, t.c.allowed_domains)
            .where(t.c.tenant_id == tenant.id, t.c.status == "ACTIVE")
            .order_by(t.c.name, t.c.version)
        ).all()
    newest: dict[str, int] = {}
    for row in rows:
        newest[row.name] = max(newest.get(row.name, 0), row.version)
    found: dict[str, ActiveSdk] = {}
    for row in rows:
        spec = dict(row.sdk_spec or {})
        key = resource_key(row.name, row.version, newest[row.name])
        if key in found or key in RESERVED_RESOURCE_KEYS:
            raise ConflictError(
                f"tenant {tenant.slug!r}: SDK {row.name} v{row.version} would be provided as resource {key!r}, "
                "which is already taken; revoke one of them (`erp sdk revoke`) or build the SDK under another "
                "name (`erp sdk build --name`)"
            )
        found[key] = ActiveSdk(key=key, resource=ErpSdkResource(
            tenant=tenant.slug,
            sdk_name=row.name,
            sdk_version=row.version,
            spec_hash=row.spec_hash,
            wasm_hash=row.wasm_hash or "",
            base_url=str(spec.get("base_url", "")),
            allowed_domains=list(row.allowed_domains or ()),
            operations=sorted(str(op.get("id")) for op in spec.get("operations", [])),
        ))
    return [found[key] for key in sorted(found)]


def artifact_resource(tenant: str, artifact: SdkArtifact) -> ErpSdkResource:
    """The resource of one SDK version a workflow (or a draft) compiles against, under the SDK's name."""
    spec = artifact.spec
    return ErpSdkResource(
        tenant=tenant,
        sdk_name=artifact.name,
        sdk_version=artifact.version,
        spec_hash=str(spec.get("spec_hash", "")),
        wasm_hash=artifact.wasm_hash or "",
        base_url=str(spec.get("base_url", "")),
        allowed_domains=list(spec.get("allowed_domains", ())),
        operations=sorted(str(op.get("id")) for op in spec.get("operations", [])),
    )


# -- the typed facade ------------------------------------------------------------------------------------
_FACADES: dict[tuple[str, str, int, str], type[Any]] = {}
_FACADES_LOCK = threading.Lock()


def facade_class(tenant: str, name: str, version: int, spec_hash: str) -> type[Any]:
    """The typed client class of an SDK version, generated from the registry's stored SdkSpec.

    The facade is generated again from the stored spec (not read back from the object store) by the same
    deterministic, security-scanned code generator the build used, and imported once per process.
    """
    key = (tenant, name, version, spec_hash)
    with _FACADES_LOCK:
        cached = _FACADES.get(key)
        if cached is not None:
            return cached
        cls = _load_facade(tenant, name, version, spec_hash)
        _FACADES[key] = cls
        return cls


def _load_facade(tenant: str, name: str, version: int, spec_hash: str) -> type[Any]:
    from pydantic import BaseModel

    from sdk_builder import SdkSpec, generate

    t = SdkVersion.__table__
    plat = process_platform()
    info = plat.tenants.get(tenant)
    with plat.engine.connect() as conn:
        stored = conn.execute(
            select(t.c.sdk_spec, t.c.spec_hash).where(
                t.c.tenant_id == info.id, t.c.name == name, t.c.version == version
            )
        ).first()
    if stored is None or stored.spec_hash != spec_hash:
        raise ArtifactIntegrityError(
            f"SDK {name} v{version} of tenant {tenant!r} is not in the registry with spec hash {spec_hash[:12]}; "
            "the code location reloads with the registry's versions: start a new run"
        )
    source = generate(SdkSpec.model_validate(stored.sdk_spec)).facade
    digest = hashlib.sha256(source.encode()).hexdigest()[:12]
    module_name = f"erp_sdk_facades.{tenant}.{name}_v{version}_{digest}"
    module = types.ModuleType(module_name)
    module.__file__ = f"<facade of SDK {name} v{version} of tenant {tenant}>"
    sys.modules[module_name] = module  # pydantic resolves the models' annotations through the module
    exec(compile(source, module.__file__, "exec"), module.__dict__)  # noqa: S102 - generated, scanned code
    clients = [
        value for attr, value in vars(module).items()
        if isinstance(value, type) and attr.endswith("Client") and value.__module__ == module_name
        and not issubclass(value, BaseModel)
    ]
    if len(clients) != 1:
        raise ArtifactIntegrityError(f"the facade of SDK {name} v{version} has {len(clients)} client classes")
    return clients[0]
