"""``SdkService``: build -> compile -> sandbox test -> register, and open registered SDKs for a tenant.

Every method takes the tenant's slug and reads or changes only that tenant's rows, objects and
credentials: to tenant B, tenant A's SDKs do not exist. Builds, activations and revocations are
audited in the transaction that makes them.
"""

from __future__ import annotations

import builtins
import difflib
import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from sqlalchemy import Engine, Row, func

from erp_platform._errors import ConflictError, ErpPlatformError, InvalidInputError, TenantIsolationError
from erp_platform.credentials import CredentialStore
from erp_platform.objectstore import ObjectStore
from erp_platform.registry import current_actor, record_audit
from erp_platform.sandbox import (
    EgressPolicy,
    EmptySelectionError,
    GuestSource,
    HostServices,
    PageResult,
    RateLimiter,
    SandboxLimits,
    SandboxRuntime,
    SdkManifest,
    SdkSession,
    SecretProvider,
    describe_held,
    mask_token,
    origin_of,
    origin_text,
)
from erp_platform.sdks._artifacts import ArtifactSet, ComponentLoader, VersionRef, store_artifacts
from erp_platform.sdks._errors import SdkStatusError
from erp_platform.sdks._models import (
    ArtifactRefs,
    OperationDecisions,
    SdkCheckReport,
    SdkTestReport,
    SdkVersionInfo,
)
from erp_platform.sdks._prune import PruneReport, prune_versions
from erp_platform.sdks._recorder import RegistryRequestRecorder
from erp_platform.sdks._registry import (
    TenantRow,
    find_identical,
    insert_version,
    lock_sdk,
    newest,
    next_version,
    set_status,
    tenant_row,
    to_info,
    validate_sdk_name,
    validate_version,
    version_row,
    versions,
)
from erp_platform.sdks._runtime import process_runtime
from erp_platform.sdks._testing import MAX_TESTED_OPERATIONS, run_sandbox_tests
from sdk_builder import (
    BuiltSdk,
    CredentialRequirement,
    Generator,
    Operation,
    SdkOverrides,
    SdkSpec,
    SpecLimits,
    build_sdk,
)

if TYPE_CHECKING:
    from erp_platform._platform import Platform

logger = logging.getLogger("erp_platform.sdks")

SpecSource = bytes | str | os.PathLike[str]


class SdkService:
    """Build, register, activate, revoke and run one tenant's SDK versions.

    Args:
        engine: the control-plane database.
        objects: the object store (artifacts go under ``tenants/{tenant}/sdks/...``).
        credentials: the credential store (secrets for sessions, read once per session each).
        cache_dir: build, compile and artifact caches (keyed by content hash).
        runtime: the SandboxRuntime to use (default: the process's one).
        rate_limiter: the per-tenant request limiter for sessions (default: the platform's limiter,
            Postgres token buckets shared by every process, from the tenant's ``max_api_calls_per_minute``
            and the rate_limit flags of the tenant and the SDK); runs pass one that also knows the workflow.
        generator: replaces the code generator (the scan still decides what may be compiled).
        max_tested_operations: bound on the operations each build's sandbox tests exercise.

    Example::

        service = SdkService.from_platform(platform)
        info = service.build("acme", Path("erp.openapi.yaml"))
        service.activate("acme", info.name, info.version)
        with service.open_session("acme", info.name, run_id="run-1") as session:
            page = session.call("list_customers", {"_page_size": 1000})
    """

    def __init__(
        self,
        engine: Engine,
        objects: ObjectStore,
        credentials: CredentialStore,
        *,
        cache_dir: Path,
        runtime: SandboxRuntime | None = None,
        rate_limiter: RateLimiter | None = None,
        generator: Generator | None = None,
        max_tested_operations: int = MAX_TESTED_OPERATIONS,
        spec_limits: SpecLimits | None = None,
    ) -> None:
        self._engine = engine
        self._objects = objects
        self._credentials = credentials
        self._cache_dir = cache_dir
        self._runtime = runtime or process_runtime(cache_dir)
        self._rate_limiter = rate_limiter
        self._generator = generator
        self._max_tested = max_tested_operations
        self._spec_limits = spec_limits
        self._loader = ComponentLoader(objects, self._runtime, cache_dir)

    @classmethod
    def from_platform(cls, platform: Platform, **options: Any) -> SdkService:
        """A service on the platform's database, object store and credential store (cache: ERP_HOME)."""
        settings = platform.settings
        cache_dir = settings.resolved_home / "cache" / "wasm"
        options.setdefault("spec_limits", SpecLimits(
            max_bytes=settings.spec_max_bytes, max_nodes=settings.spec_max_nodes,
            max_depth=settings.spec_max_depth, max_ref_expansions=settings.spec_max_ref_expansions,
            max_ref_chain=settings.spec_max_ref_chain, memory_mb=settings.spec_parse_memory_mb,
            timeout_seconds=settings.spec_parse_timeout_seconds,
        ))
        return cls(platform.engine, platform.objects, platform.credentials, cache_dir=cache_dir, **options)

    # -- build ------------------------------------------------------------------------------------------
    def build(
        self,
        tenant: str,
        spec_source: SpecSource,
        *,
        filename: str | None = None,
        name: str | None = None,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        auth_scheme: str | None = None,
        overrides: SdkOverrides | None = None,
    ) -> SdkVersionInfo:
        """Build an SDK from a spec, test it in the sandbox and register it as a new version.

        The version is the SDK's newest plus one. It is TESTING when every sandbox test passed (activate
        it to use it), FAILED otherwise (with the results; it can never be activated). Building the same
        spec with the same options (and overrides) with the same builder again registers nothing and
        returns the existing version with ``unchanged=True`` (a REVOKED one is never reused).

        Args:
            tenant: the tenant's slug.
            spec_source: the spec's path or raw bytes (OpenAPI 3 / Swagger 2 / EDMX).
            filename: the spec's name in messages (default: the path's file name).
            name: the SDK's name (default: from the spec's title, e.g. ``mock_erp``).
            base_url, headers, auth_scheme: build options, see :func:`sdk_builder.load_spec`.
            overrides: the operator's per-operation overrides (:func:`sdk_builder.parse_overrides`).

        Raises:
            SpecError, InvalidInputError: the spec or an option is invalid (nothing registered).
            ScanRefused: the generated code failed the security scan (file and line; nothing registered).
            ComponentBuildError: the component could not be built (nothing registered).
            NotFoundError: the tenant does not exist.
        """
        started = time.perf_counter()
        with self._engine.connect() as conn:
            _require_usable(tenant_row(conn, tenant))
        if name is not None:
            validate_sdk_name(name)
        raw, shown = _read_source(spec_source, filename)
        built = build_sdk(
            raw, cache_dir=self._cache_dir, filename=shown, name=name, base_url=base_url, headers=headers,
            auth_scheme=auth_scheme, generator=self._generator, overrides=overrides, limits=self._spec_limits,
        )
        with self._engine.connect() as conn:
            existing = find_identical(
                conn, tenant_row(conn, tenant).id, built.spec.name, spec_hash=built.spec.spec_hash,
                builder_version=built.generated.builder_version, code_hash=built.generated.code_hash,
            )
        if existing is not None:
            logger.info("sdk unchanged: tenant=%s sdk=%s version=%d", tenant, existing.name, existing.version)
            return to_info(tenant, existing, warnings=built.parsed.warnings, unchanged=True,
                           timings={"total": round(time.perf_counter() - started, 4)})
        timings = built.timings.model_dump()
        mark = time.perf_counter()
        component = self._runtime.load_component(built.wasm_path)
        precompiled = bytes(component.component.serialize())
        timings["precompile_seconds"], mark = time.perf_counter() - mark, time.perf_counter()
        spec = built.spec
        written: list[VersionRef] = []  # version folders this build wrote to; removed if it fails
        try:
            with self._engine.begin() as conn:
                row_tenant = tenant_row(conn, tenant)
                lock_sdk(conn, row_tenant.id, spec.name)
                version = next_version(conn, row_tenant.id, spec.name)
                manifest = spec.to_manifest(tenant, spec.name, version)
                report = run_sandbox_tests(spec, manifest, component, max_operations=self._max_tested)
                timings["sandbox_tests_seconds"], mark = time.perf_counter() - mark, time.perf_counter()
                ref = VersionRef(tenant, spec.name, version)
                written.append(ref)
                refs = store_artifacts(
                    self._objects, ref,
                    ArtifactSet(spec_bytes=raw, spec_filename=shown, files=built.generated.files,
                                facade=built.generated.facade, wasm_path=built.wasm_path,
                                precompiled=precompiled),
                )
                status = "TESTING" if report.passed else "FAILED"
                values = _row_values(row_tenant, built, version=version, status=status, manifest=manifest,
                                     report=report, refs=refs)
                row = insert_version(conn, values)
                record_audit(
                    conn, action="sdk.build", target_type="sdk", target_id=f"{spec.name}@{version}",
                    tenant_slug=tenant,
                    details={
                        "version": version, "status": status, "filename": shown, "spec_hash": spec.spec_hash,
                        "code_hash": built.generated.code_hash, "wasm_hash": built.wasm_hash,
                        "builder_version": built.generated.builder_version,
                        "operation_count": len(spec.operations), "skipped_operations": len(built.parsed.skipped),
                        "tests": report.summary(),
                    },
                )
        except BaseException:
            self._discard(written)
            raise
        timings["register_seconds"] = time.perf_counter() - mark
        timings["total_seconds"] = time.perf_counter() - started
        logger.info("sdk built: tenant=%s sdk=%s version=%d status=%s tests=%s", tenant, spec.name, version,
                    status, report.summary())
        stages = {key.removesuffix("_seconds"): round(value, 4) for key, value in timings.items()}
        return to_info(tenant, row, warnings=built.parsed.warnings, timings=stages)

    def _discard(self, folders: builtins.list[VersionRef]) -> None:
        """Remove what a failed build wrote (no committed row owns it), so nothing is left half-made."""
        for folder in folders:
            try:
                removed = self._objects.delete_prefix(folder.key())
            except ErpPlatformError as exc:
                logger.error("sdk build failed and its artifacts under %s could not be removed: %s",
                             folder.key().path, exc)
            else:
                logger.info("sdk build failed: removed %d artifact(s) under %s", removed, folder.key().path)

    # -- reads ------------------------------------------------------------------------------------------
    def list(self, tenant: str) -> builtins.list[SdkVersionInfo]:
        """Every version of every SDK of the tenant, by name then version."""
        with self._engine.connect() as conn:
            row_tenant = tenant_row(conn, tenant)
            return [to_info(tenant, row) for row in versions(conn, row_tenant.id)]

    def get(self, tenant: str, name: str, version: int | None = None) -> SdkVersionInfo:
        """One version; by default the newest ACTIVE one, else the newest.

        Raises:
            NotFoundError: the tenant, SDK or version does not exist (for this tenant).
        """
        validate_sdk_name(name)
        with self._engine.connect() as conn:
            row_tenant = tenant_row(conn, tenant)
            if version is not None:
                return to_info(tenant, version_row(conn, row_tenant, name, validate_version(version)))
            row = newest(conn, row_tenant, name, ("ACTIVE",))
            if row is None:
                row = versions(conn, row_tenant.id, name)[-1]
            return to_info(tenant, row)

    # -- status changes ---------------------------------------------------------------------------------
    def activate(self, tenant: str, name: str, version: int) -> SdkVersionInfo:
        """TESTING -> ACTIVE (already ACTIVE: unchanged). Several ACTIVE versions may coexist.

        Every credential the version declares must be set for (or granted to) this SDK first; the audit
        entry names them and the origin they are sent to.

        Raises:
            SdkStatusError: the version FAILED its sandbox tests or is REVOKED, or a credential it declares
                is not set for this SDK (the message has the command for each).
            NotFoundError: no such version for this tenant.
        """
        validate_sdk_name(name)
        validate_version(version)
        with self._engine.begin() as conn:
            row_tenant = tenant_row(conn, tenant)
            lock_sdk(conn, row_tenant.id, name)
            row = version_row(conn, row_tenant, name, version, for_update=True)
            label = _label(tenant, name, version)
            if row.status == "ACTIVE":
                return to_info(tenant, row)
            if row.status == "FAILED":
                raise SdkStatusError(
                    f"{label} FAILED its sandbox tests ({_tests_summary(row)}) and cannot be activated; "
                    f"see `erp sdk show {tenant} {name} --version {version}`, fix the spec and build again"
                )
            if row.status == "REVOKED":
                raise SdkStatusError(
                    f"{label} is REVOKED, which is final; build a new version and activate that one"
                )
            missing = self.missing_credentials(tenant, row)
            if missing:
                raise SdkStatusError(_missing_message(label, tenant, name, missing))
            updated = set_status(conn, row.id, "ACTIVE", activated_at=func.now())
            record_audit(conn, action="sdk.activate", target_type="sdk", target_id=f"{name}@{version}",
                         tenant_slug=tenant,
                         details={"version": version, "from_status": row.status, "code_hash": row.code_hash,
                                  "wasm_hash": row.wasm_hash,
                                  "credentials": [c.name for c in _declared_credentials(row)],
                                  "credential_origin": _origin(row)})
        logger.info("sdk activated: tenant=%s sdk=%s version=%d", tenant, name, version)
        return to_info(tenant, updated)

    def revoke(self, tenant: str, name: str, version: int) -> SdkVersionInfo:
        """Any status -> REVOKED, which is final: the version never opens again (already REVOKED: unchanged).

        Raises:
            NotFoundError: no such version for this tenant.
        """
        validate_sdk_name(name)
        validate_version(version)
        with self._engine.begin() as conn:
            row_tenant = tenant_row(conn, tenant)
            lock_sdk(conn, row_tenant.id, name)
            row = version_row(conn, row_tenant, name, version, for_update=True)
            if row.status == "REVOKED":
                return to_info(tenant, row)
            updated = set_status(conn, row.id, "REVOKED", revoked_at=func.now())
            record_audit(conn, action="sdk.revoke", target_type="sdk", target_id=f"{name}@{version}",
                         tenant_slug=tenant, details={"version": version, "from_status": row.status})
        logger.info("sdk revoked: tenant=%s sdk=%s version=%d", tenant, name, version)
        return to_info(tenant, updated)

    # -- sessions ---------------------------------------------------------------------------------------
    def prune(self, tenant: str, name: str, *, keep: int) -> PruneReport:
        """Delete the stored artifacts of ``name``'s REVOKED and FAILED versions, except the newest ``keep``
        versions and any a workflow version pins (ACTIVE and TESTING versions are never touched); audited.

        Raises:
            InvalidInputError: a bad SDK name or ``keep``.
            NotFoundError: the tenant has no such SDK.
        """
        report = prune_versions(self._engine, self._objects, tenant, name, keep)
        logger.info("sdk pruned: tenant=%s sdk=%s versions=%s", tenant, name,
                    [p.version for p in report.pruned])
        return report

    def open_session(
        self,
        tenant: str,
        name: str,
        version: int | None = None,
        *,
        run_id: str | None = None,
        limits: SandboxLimits | None = None,
    ) -> SdkSession:
        """Open a session of an ACTIVE version (default: the newest ACTIVE one) for one activity.

        The component is loaded from the object store after its hash is checked against the registry;
        the session reads the tenant's credentials (each once), follows the tenant's egress policy and
        rate limit, and records every request to ``erp_control.sdk_requests`` (flushed on close).

        Args:
            run_id: stored with each recorded request.
            limits: sandbox limits for this session instead of the manifest's (e.g. shorter timeouts).

        Raises:
            SdkStatusError: the version is TESTING, FAILED or REVOKED.
            ArtifactIntegrityError: a stored artifact does not match the registry's hash.
            NotFoundError: the tenant, SDK or version does not exist.
        """
        row, row_tenant = self._resolve(tenant, name, version, allow_testing=False)
        return self._session(row_tenant, row, run_id=run_id, limits=limits)

    def call(
        self,
        tenant: str,
        name: str,
        operation: str,
        params: Mapping[str, Any] | None = None,
        *,
        version: int | None = None,
        pages: int = 1,
        run_id: str | None = None,
        limits: SandboxLimits | None = None,
    ) -> builtins.list[PageResult]:
        """Run one operation for up to ``pages`` pages (for people debugging an SDK).

        TESTING versions run too; the default version is the newest ACTIVE one, else the newest TESTING.

        Raises:
            InvalidInputError: ``pages`` < 1, or the SDK has no such operation.
            SdkStatusError: the version is FAILED or REVOKED.
            SandboxError: the call failed (egress denied, ERP errors after retries, ...).
        """
        if isinstance(pages, bool) or not isinstance(pages, int) or pages < 1:
            raise InvalidInputError(f"pages must be a positive integer, got {pages!r}")
        row, row_tenant = self._resolve(tenant, name, version, allow_testing=True)
        known = [str(op.get("id")) for op in (row.sdk_spec or {}).get("operations", [])]
        if operation not in known:
            shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
            raise InvalidInputError(
                f"{_label(tenant, row.name, row.version)} has no operation {operation!r}; its operations: "
                f"{shown or 'none'}"
            )
        with self._session(row_tenant, row, run_id=run_id, limits=limits) as session:
            return builtins.list(session.iter_pages(operation, params or {}, max_pages=pages))

    def check(
        self, tenant: str, name: str, operation: str | None = None, *, version: int | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> SdkCheckReport:
        """One live, read-only call of a list operation with the tenant's credentials, and what came back.

        Without ``operation``, the first list operation that needs no parameters is called. Problems
        (a missing credential, an error, records the selector did not find) are reported, not raised.

        Raises:
            InvalidInputError: the operation is unknown or is not a GET.
            SdkStatusError: the version is FAILED or REVOKED.
        """
        row, row_tenant = self._resolve(tenant, name, version, allow_testing=True)
        spec = SdkSpec.model_validate(row.sdk_spec)
        chosen = _check_operation(tenant, spec, row.name, operation)
        pg = OperationDecisions.of(chosen)
        report: dict[str, Any] = {
            "tenant": tenant, "sdk": row.name, "version": row.version, "operation": chosen.id,
            "base_url": spec.base_url, "selector": pg.selector, "paging": pg.paging,
        }
        missing = self.missing_credentials(tenant, row)
        if missing:
            report["problems"] = tuple(
                f"credential {c.name!r} ({c.purpose}) is not set: {c.command(tenant, row.name)}" for c in missing
            )
            return SdkCheckReport(**report)
        call_params: dict[str, Any] = {**(params or {}), "_page_size": 10}
        problems: list[str] = []
        with self._session(row_tenant, row, run_id="check", limits=None) as session:
            try:
                page = session.call(chosen.id, call_params)
            except EmptySelectionError as exc:
                problems.append(
                    f"the response held {describe_held(exc.held)} but the selector `{pg.selector}` found none; "
                    f"rebuild with --set {chosen.id}.record_path={exc.held[0][0]}"
                )
            except ErpPlatformError as exc:
                problems.append(f"{type(exc).__name__}: {exc}")
            else:
                first = page.records[0] if page.records else {}
                report.update(
                    status=page.status, records=len(page.records), fields=tuple(first) if isinstance(first, dict)
                    else (), next=mask_token(page.next), requests=page.stats.requests,
                    milliseconds=page.stats.total_ms,
                )
                if page.paging_note:
                    problems.append(page.paging_note)
        report["problems"] = tuple(problems)
        return SdkCheckReport(**report)

    def missing_credentials(self, tenant: str, row: Row[Any]) -> builtins.list[CredentialRequirement]:
        """The credentials the version declares that are not set for its SDK (names only)."""
        declared = _declared_credentials(row)
        if not declared:
            return []
        present = {c.name for c in self._credentials.list(tenant, sdk=row.name)}
        return [c for c in declared if c.name not in present]

    # -- internals --------------------------------------------------------------------------------------
    def _resolve(
        self, tenant: str, name: str, version: int | None, *, allow_testing: bool
    ) -> tuple[Row[Any], TenantRow]:
        validate_sdk_name(name)
        if version is not None:
            validate_version(version)
        with self._engine.connect() as conn:
            row_tenant = tenant_row(conn, tenant)
            _require_usable(row_tenant)
            if version is not None:
                row = version_row(conn, row_tenant, name, version)
            else:
                wanted = ("ACTIVE", "TESTING") if allow_testing else ("ACTIVE",)
                found = newest(conn, row_tenant, name, wanted)
                if found is None:
                    known = ", ".join(f"v{r.version} {r.status}" for r in versions(conn, row_tenant.id, name))
                    raise SdkStatusError(
                        f"SDK {name!r} of tenant {tenant!r} has no {' or '.join(wanted)} version (versions: "
                        f"{known}); activate one with `erp sdk activate {tenant} {name} VERSION`"
                    )
                row = found
        _check_status(tenant, row, allow_testing=allow_testing)
        return row, row_tenant

    def _session(
        self, tenant: TenantRow, row: Row[Any], *, run_id: str | None, limits: SandboxLimits | None
    ) -> SdkSession:
        ref = VersionRef(tenant.slug, row.name, row.version)
        try:
            manifest = SdkManifest.model_validate(row.manifest)
        except ValidationError as exc:
            raise ConflictError(
                f"{ref.label}: the stored manifest cannot be read ({exc.error_count()} problems); "
                "build the SDK again"
            ) from None
        if (manifest.tenant, manifest.sdk_name, manifest.sdk_version) != (tenant.slug, row.name, row.version):
            raise TenantIsolationError(
                f"{ref.label}: the stored manifest belongs to SDK {manifest.sdk_name!r} "
                f"v{manifest.sdk_version} of tenant {manifest.tenant!r}; the registry row was changed "
                "outside the platform. Revoke the version and build the SDK again"
            )
        if limits is not None:
            manifest = manifest.model_copy(update={"limits": limits})
        component = self._loader.load(
            ref, precompiled_ref=row.precompiled_ref, wasm_ref=row.wasm_ref, wasm_hash=row.wasm_hash
        )
        try:
            policy = EgressPolicy(private_allowlist=tenant.egress_private_allowlist)
        except ValidationError as exc:
            raise InvalidInputError(
                f"tenant {tenant.slug!r}: its private egress allowlist is invalid "
                f"({exc.errors()[0]['msg']}); fix it with `erp tenant allow-egress {tenant.slug} HOST:PORT "
                "--revoke`"
            ) from None
        recorder = RegistryRequestRecorder(self._engine, run_id=run_id)
        limiter = self._rate_limiter or self._shared_limiter(row.name, row.version)
        services = HostServices(
            secrets=OncePerSession(self._credentials.secret_provider(tenant.slug, row.name)),
            egress_policy=policy,
            rate_limiter=limiter,
            recorder=recorder,
        )
        return RecordedSession(manifest, component, services, recorder)

    def _shared_limiter(self, sdk: str, version: int) -> RateLimiter:
        """The limiter every path to an ERP goes through (CLI calls, checks, sensors, the assistant, runs)."""
        from erp_platform.queue import PostgresRateLimiter  # the queue package imports orchestration

        return PostgresRateLimiter(self._engine, sdks=[(sdk, version)])


class OncePerSession:
    """A secret provider that reads each credential once (every read is audited by the store)."""

    def __init__(self, provider: SecretProvider) -> None:
        self._provider = provider
        self._values: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, name: str) -> str:
        with self._lock:
            if name not in self._values:
                self._values[name] = self._provider(name)
            return self._values[name]


class RecordedSession(SdkSession):
    """An SdkSession whose request records are flushed to ``erp_control.sdk_requests`` when it closes."""

    def __init__(
        self,
        manifest: SdkManifest,
        component: GuestSource,
        services: HostServices,
        recorder: RegistryRequestRecorder,
    ) -> None:
        self._recorder = recorder
        super().__init__(manifest, component, services)

    def close(self) -> None:
        """Close the session, then write its pending request records; idempotent."""
        try:
            super().close()
        finally:
            self._recorder.close()


def _read_source(source: SpecSource, filename: str | None) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, filename or "spec"
    path = Path(source)
    try:
        return path.read_bytes(), filename or path.name
    except FileNotFoundError:
        raise InvalidInputError(f"spec file not found: {path}; check the path") from None
    except IsADirectoryError:
        raise InvalidInputError(f"{path} is a folder; pass an OpenAPI, Swagger or EDMX file") from None
    except OSError as exc:
        raise InvalidInputError(f"cannot read the spec file {path}: {exc.strerror}") from None


def _check_operation(tenant: str, spec: SdkSpec, name: str, operation: str | None) -> Operation:
    if operation is not None:
        try:
            op = spec.operation(operation)
        except KeyError:
            close = difflib.get_close_matches(operation, [o.id for o in spec.operations], n=3)
            hint = f"did you mean {', '.join(close)}?" if close else f"see `erp sdk show {tenant} {name}`"
            raise InvalidInputError(f"SDK {name!r} has no operation {operation!r}; {hint}") from None
        if op.method != "GET":
            raise InvalidInputError(
                f"operation {operation!r} is a {op.method}: `erp sdk check` makes read-only calls only (GET)"
            )
        return op
    for op in spec.operations:
        if op.collection and op.method == "GET" and not any(p.required for p in op.parameters):
            return op
    raise InvalidInputError(
        f"SDK {name!r} has no list operation without required parameters; name one: "
        f"`erp sdk check {tenant} {name} OPERATION --params '{{...}}'`"
    )


def _missing_message(label: str, tenant: str, name: str, missing: builtins.list[CredentialRequirement]) -> str:
    commands = "; ".join(f"{c.name} ({c.purpose}): `{c.command(tenant, name)}`" for c in missing)
    return (
        f"{label} cannot be activated: it sends credentials that are not set for SDK {name!r} (credentials are "
        f"bound to the SDK that sends them; another SDK's are never used). Set each, then activate again: "
        f"{commands}"
    )


def _origin(row: Row[Any]) -> str | None:
    base_url = (row.manifest or {}).get("base_url")
    return origin_text(origin_of(base_url)) if isinstance(base_url, str) else None


def _declared_credentials(row: Row[Any]) -> builtins.list[CredentialRequirement]:
    raw = (row.sdk_spec or {}).get("credentials") or []
    return [CredentialRequirement.model_validate(c) for c in raw]


def _require_usable(tenant: TenantRow) -> None:
    if tenant.status != "active":
        raise ConflictError(
            f"tenant {tenant.slug!r} is {tenant.status}: its SDKs cannot be built or run until "
            f"`erp tenant reactivate {tenant.slug}`"
        )


def _label(tenant: str, name: str, version: int) -> str:
    return f"SDK {name!r} v{version} of tenant {tenant!r}"


def _tests_summary(row: Row[Any]) -> str:
    if not row.test_results:
        return "no test results"
    return SdkTestReport.model_validate(row.test_results).summary()


def _check_status(tenant: str, row: Row[Any], *, allow_testing: bool) -> None:
    label = _label(tenant, row.name, row.version)
    if row.status == "REVOKED":
        raise SdkStatusError(
            f"{label} is REVOKED: it can no longer be opened or called; use an ACTIVE version "
            f"(`erp sdk list {tenant}`) or build a new one"
        )
    if row.status == "FAILED":
        raise SdkStatusError(
            f"{label} FAILED its sandbox tests ({_tests_summary(row)}): it cannot be opened or called; fix "
            "the spec and build again"
        )
    if row.status == "TESTING" and not allow_testing:
        raise SdkStatusError(
            f"{label} is TESTING: activate it first (`erp sdk activate {tenant} {row.name} {row.version}`); "
            "only ACTIVE versions open for workflows (`erp sdk call` also runs TESTING ones)"
        )


def _row_values(
    tenant: TenantRow,
    built: BuiltSdk,
    *,
    version: int,
    status: str,
    manifest: SdkManifest,
    report: SdkTestReport,
    refs: ArtifactRefs,
) -> dict[str, Any]:
    spec = built.spec
    return {
        "tenant_id": tenant.id,
        "name": spec.name,
        "version": version,
        "status": status,
        "spec_hash": spec.spec_hash,
        "code_hash": built.generated.code_hash,
        "wasm_hash": built.wasm_hash,
        "builder_version": built.generated.builder_version,
        "spec_ref": refs.spec,
        "code_ref": refs.code,
        "facade_ref": refs.facade,
        "wasm_ref": refs.wasm,
        "precompiled_ref": refs.precompiled,
        "sdk_spec": spec.model_dump(mode="json"),
        "manifest": manifest.model_dump(mode="json"),
        "capabilities": list(spec.capabilities),
        "allowed_domains": list(spec.allowed_domains),
        "operation_count": len(spec.operations),
        "skipped_operations": [s.model_dump(mode="json") for s in built.parsed.skipped],
        "test_results": report.model_dump(mode="json"),
        "security_scan": {
            "passed": built.guest_scan.passed and built.facade_scan.passed,
            "guest": built.guest_scan.model_dump(mode="json"),
            "facade": built.facade_scan.model_dump(mode="json"),
        },
        "created_by": current_actor(),
    }
