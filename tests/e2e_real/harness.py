"""Real published ERP specs synced end to end, and checked against what the ERP (Prism) returned.

For one corpus spec: a tenant of its own, its SDK built from the spec as published with the base URL
pointing at Stoplight Prism serving that spec, the credentials the build declared, a workflow written by
``scaffold_workflow`` (what ``erp workflow scaffold`` writes: an extract and a load per list endpoint,
keyed on the SDK's primary key, every field mapped), applied and activated through the registry and run
through Dagster's run queue on the local stack. Then each endpoint's table is compared with the records
Prism returns for the request the SDK made (replayed with httpx): row count, business keys, and every
mapped column, converted by this module's own reading of the JSON (not the platform's).

Used by ``tests/e2e_real`` and by ``benchmarks/spec_corpus.py``: :func:`check_spec` syncs one spec in an
environment of its own; for several, share one::

    with real_sync(home) as sync:
        for spec_id, result in sync.check_all(load_corpus().specs).items():
            print(spec_id, result.rows_correct, result.rows_expected)
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from sqlalchemy import select, text

from erp_platform.registry import SdkVersion, Tenant
from erp_platform.tenancy import tenant_transaction
from erp_platform.workflows import (
    ExtractActivity,
    LoadPlan,
    OperationInfo,
    RegistrySdkCatalog,
    ScaffoldRequest,
    SdkInfo,
    WorkflowDefinition,
    WorkflowRegistry,
    registry_catalog_factory,
    scaffold_workflow,
)
from sdk_builder import Operation, SdkSpec
from tests.e2e_real.odata_server import ODataServer
from tests.support.corpus import CorpusEndpoint, CorpusSpec, load_corpus
from tests.support.database import fresh_database
from tests.support.prism import PrismPool, PrismServer
from tests.support.stack import Stack, running_stack

RUN_TIMEOUT_SECONDS = 600.0
SAMPLE_TESTED_OPERATIONS = 5
_DOTNET = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")


@dataclass(frozen=True)
class EndpointCheck:
    """One list endpoint: what Prism returned and what the table holds."""

    endpoint: str
    operation: str
    table: str
    request: str = ""
    expected: int = 0  # distinct records (by business key) in Prism's response
    loaded: int = 0  # rows in the table
    correct: int = 0  # rows equal to Prism's record in every mapped column
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems and self.expected > 0 and self.correct == self.expected == self.loaded


@dataclass(frozen=True)
class SpecCheck:
    """One corpus spec synced: the run and each endpoint's comparison."""

    spec: str
    tenant: str
    sdk: str = ""
    run_id: str = ""
    status: str = ""
    failure: str | None = None
    endpoints: tuple[EndpointCheck, ...] = ()
    build_seconds: float = 0.0  # SDK build, registration and activation
    run_seconds: float = 0.0  # the Dagster run, from launch to its end

    @property
    def rows_expected(self) -> int:
        return sum(e.expected for e in self.endpoints)

    @property
    def rows_correct(self) -> int:
        return sum(e.correct for e in self.endpoints)

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS" and bool(self.endpoints) and all(e.ok for e in self.endpoints)

    def report(self) -> str:
        """A readable account of what went wrong (for assertion messages)."""
        lines = [f"{self.spec} (tenant {self.tenant}, run {self.run_id or '-'}): {self.status or 'not run'} "
                 f"(build {self.build_seconds:.1f} s, run {self.run_seconds:.1f} s)"]
        if self.failure:
            lines.append(f"  failure: {self.failure}")
        for e in self.endpoints:
            lines.append(f"  {e.endpoint} -> {e.operation} -> {e.table}: expected {e.expected}, loaded "
                         f"{e.loaded}, correct {e.correct} (request {e.request or '-'})")
            lines += [f"    - {p}" for p in e.problems]
        return "\n".join(lines)


WORKFLOW_ID = "corpus_sync"


@dataclass(frozen=True)
class _Prepared:
    """A spec ready to run: its server, tenant, SDK, applied workflow and load plans."""

    entry: CorpusSpec
    server: PrismServer | ODataServer
    tenant: str
    sdk: str
    spec: SdkSpec
    secrets: dict[str, str]
    info: SdkInfo
    ops: tuple[Operation, ...]
    definition: WorkflowDefinition
    plans: dict[str, LoadPlan]
    build_seconds: float
    before: int  # requests Prism had received before the run


class RealSync:
    """Syncs corpus specs through the platform on a running stack; one tenant per spec."""

    def __init__(self, stack: Stack, pool: PrismPool) -> None:
        self.stack = stack
        self.pool = pool
        self._odata: dict[str, ODataServer] = {}

    def close(self) -> None:
        """Stop the OData services started for EDMX specs."""
        for server in self._odata.values():
            server.__exit__(None, None, None)
        self._odata.clear()

    def server_for(self, entry: CorpusSpec) -> PrismServer | ODataServer:
        """Prism for OpenAPI specs; for OData ``$metadata`` (which Prism cannot read), an OData service
        built from the same EDMX (``odata_server``)."""
        if entry.prism != "none":
            return self.pool.get(entry)
        if entry.format not in ("odata_v2", "odata_v4"):
            raise ValueError(f"corpus spec {entry.id!r} is served neither by Prism nor as OData: {entry.prism_note}")
        if entry.id not in self._odata:
            self._odata[entry.id] = ODataServer(entry.file).__enter__()
        return self._odata[entry.id]

    def check(self, entry: CorpusSpec) -> SpecCheck:
        """Build, scaffold, apply, run and compare one spec (see the module docs)."""
        return self.check_all([entry])[entry.id]

    def check_all(self, entries: Sequence[CorpusSpec]) -> dict[str, SpecCheck]:
        """:meth:`check` for several specs: each built and applied in turn, then every run launched at once
        through the queue (they overlap), then each compared. A spec that cannot be prepared (its SDK does
        not build, a workflow is refused) gets a failed check with the reason; the others go on."""
        from erp_platform.orchestration import wait_for_run

        results: dict[str, SpecCheck] = {}
        prepared: list[_Prepared] = []
        for entry in entries:
            try:
                prepared.append(self._prepare(entry))
            except Exception as exc:
                results[entry.id] = SpecCheck(entry.id, tenant_slug(entry), failure=f"{type(exc).__name__}: {exc}")
        launched = [(p, self.stack.launch(p.tenant, WORKFLOW_ID), time.perf_counter()) for p in prepared]
        for ready, run_id, started in launched:
            status = wait_for_run(self.stack.instance, run_id, timeout=RUN_TIMEOUT_SECONDS).value
            results[ready.entry.id] = self._finish(ready, run_id, status, time.perf_counter() - started)
        return {entry.id: results[entry.id] for entry in entries}

    def _prepare(self, entry: CorpusSpec) -> _Prepared:
        server = self.server_for(entry)
        tenant = tenant_slug(entry)
        started = time.perf_counter()
        sdk, spec, secrets = self._onboard(entry, tenant, server)
        built = time.perf_counter() - started
        ops = [operation_for(spec, endpoint) for endpoint in entry.endpoints]
        params: dict[str, Any] = {}
        for op, endpoint in zip(ops, entry.endpoints, strict=True):
            params.update(params_for(op, endpoint))
        info = RegistrySdkCatalog(self.stack.platform.engine, tenant).versions(sdk)[-1]
        yaml_text = scaffold_workflow(info, ScaffoldRequest(
            operations=tuple(op.id for op in ops), workflow_id=WORKFLOW_ID, params=params))
        record = self.stack.apply_workflow(tenant, yaml_text)
        registry = WorkflowRegistry(self.stack.platform.engine, registry_catalog_factory(self.stack.platform.engine))
        _, definition = registry.get(tenant, WORKFLOW_ID, record.version)
        plans, problems = registry.plan(tenant, definition)
        if problems:
            raise AssertionError("; ".join(p.render() for p in problems))
        before = len(server.received()) if isinstance(server, PrismServer) else 0
        return _Prepared(entry, server, tenant, sdk, spec, secrets, info, tuple(ops), definition, plans,
                         round(built, 2), before)

    def _finish(self, ready: _Prepared, run_id: str, status: str, ran: float) -> SpecCheck:
        server = ready.server
        failure = None if status == "SUCCESS" else self._failure(run_id)
        received = server.received()[ready.before:] if isinstance(server, PrismServer) else []
        extracts = [a for a in ready.definition.activities if isinstance(a, ExtractActivity)]
        loads = [a.id for a in ready.definition.activities if a.type == "load"]
        checks = tuple(
            self._compare(ready.tenant, server, ready.spec, ready.secrets, op, endpoint, ready.plans[load],
                          received, first_page_query(op, endpoint, extract.config.effective_page_size(
                              _max_page_size(ready.info.operation(op.id)))))
            for op, endpoint, extract, load in zip(ready.ops, ready.entry.endpoints, extracts, loads, strict=True)
        )
        return SpecCheck(ready.entry.id, ready.tenant, ready.sdk, run_id, status, failure, checks,
                         ready.build_seconds, round(ran, 2))

    # -- set-up ---------------------------------------------------------------------------------------
    def _onboard(self, entry: CorpusSpec, tenant: str,
                 server: PrismServer | ODataServer) -> tuple[str, SdkSpec, dict[str, str]]:
        from erp_platform.sdks import SdkService
        from sdk_builder import parse_overrides

        plat = self.stack.platform
        plat.tenants.create(tenant, "enterprise")
        plat.tenants.allow_private_egress(tenant, server.host_port)
        # the sample-response tests of every operation run in tests/sdks; here the endpoints run live
        service = SdkService.from_platform(plat, max_tested_operations=SAMPLE_TESTED_OPERATIONS)
        overrides = parse_overrides(None, list(entry.overrides)) if entry.overrides else None
        built = service.build(tenant, entry.file, base_url=server.url, overrides=overrides)
        assert built.status == "TESTING", f"{entry.id}: {built.test_summary()}"
        secrets: dict[str, str] = {}
        for cred in built.credentials:
            secrets[cred.name] = credential_value(entry, cred.name, cred.wire_name)
            plat.credentials.set(tenant, cred.name, secrets[cred.name], sdk=built.name)
        service.activate(tenant, built.name, built.version)
        return built.name, stored_spec(self.stack, tenant, built.name, built.version), secrets

    def _failure(self, run_id: str) -> str:
        from erp_platform.orchestration import run_failure_message

        return run_failure_message(self.stack.instance, run_id) or "(no failure message)"

    # -- comparison -----------------------------------------------------------------------------------
    def _compare(self, tenant: str, server: PrismServer | ODataServer, spec: SdkSpec, secrets: Mapping[str, str],
                 op: Operation, endpoint: CorpusEndpoint, plan: LoadPlan,
                 received: Sequence[tuple[str, str]], query: Mapping[str, str]) -> EndpointCheck:
        check = EndpointCheck(endpoint.path, op.id, plan.table)
        if isinstance(server, ODataServer):
            target = op.path
            records = odata_records(server, op)
        else:
            path = request_of(op, received)
            if path is None:
                return _with(check, problems=(f"Prism received no request for {op.id} ({op.path})",))
            target = path if not query or "?" in path else f"{path}?{urlencode(query)}"
            response = replay(server, spec, secrets, target)
            if response.status_code != 200:
                return _with(check, request=target, problems=(
                    f"replaying {target} gave HTTP {response.status_code}: {response.text[:300]}",))
            records = select_records(response.json(), op.record_path)
        by_target = {str(c.target): c for c in plan.mapping.columns}
        key_sources = [by_target[k].source for k in plan.business_key]
        expected: dict[tuple[Any, ...], Mapping[str, Any]] = {}
        for record in records:  # several records with one key: the last one wins, as in the load
            expected[tuple(_key_value(record.get(s)) for s in key_sources)] = record
        rows = table_rows(self.stack, tenant, plan.table)
        loaded = {tuple(_key_value(row[k]) for k in plan.business_key): row for row in rows}
        problems: list[str] = []
        correct = 0
        for key, record in expected.items():
            row = loaded.get(key)
            if row is None:
                problems.append(f"record with key {key} is not in the table")
                continue
            diffs = [
                f"{c.target} ({c.type}): table {row[str(c.target)]!r}, Prism {record.get(c.source)!r}"
                for c in plan.mapping.columns
                if not same_value(row[str(c.target)], record.get(c.source), str(c.type))
            ]
            if diffs:
                problems.append(f"key {key}: " + "; ".join(diffs[:5]))
            else:
                correct += 1
        extra = [k for k in loaded if k not in expected]
        if extra:
            problems.append(f"{len(extra)} rows Prism did not return, e.g. key {extra[0]}")
        if not expected:
            problems.append(f"Prism returned no records for {target} at {'.'.join(op.record_path) or 'the body'}")
        return _with(check, request=target, expected=len(expected), loaded=len(rows), correct=correct,
                     problems=tuple(problems[:10]))


def _max_page_size(op: OperationInfo | None) -> int | None:
    return op.max_page_size if op is not None else None


def _with(check: EndpointCheck, **changes: Any) -> EndpointCheck:
    from dataclasses import replace

    return replace(check, **changes)


# -- the corpus and the SDK -----------------------------------------------------------------------------
def tenant_slug(entry: CorpusSpec) -> str:
    """``rs_<spec id>``, cut to the slug rule's 40 characters."""
    return re.sub(r"[^a-z0-9_]", "_", f"rs_{entry.id}".lower())[:40]


def credential_value(entry: CorpusSpec, name: str, wire_name: str) -> str:
    """The manifest's header value for header credentials (e.g. xero-tenant-id), else a placeholder."""
    for header, value in entry.headers.items():
        if header.lower() == wire_name.lower():
            return value
    return f"test-{name}-value"


def stored_spec(stack: Stack, tenant: str, sdk: str, version: int) -> SdkSpec:
    """The SdkSpec exactly as the registry stores it (what extracts read)."""
    with stack.platform.engine.connect() as conn:
        row = conn.execute(
            select(SdkVersion.sdk_spec).join(Tenant, Tenant.id == SdkVersion.tenant_id).where(
                Tenant.slug == tenant, SdkVersion.name == sdk, SdkVersion.version == version)
        ).scalar_one()
    return SdkSpec.model_validate(dict(row))


def operation_for(spec: SdkSpec, endpoint: CorpusEndpoint) -> Operation:
    """The SDK operation of a manifest endpoint: by operationId, else by path (or EDMX entity set)."""
    wanted = {endpoint.operation_id, f"GET {endpoint.path}", endpoint.path.lstrip("/")} - {None}
    for op in spec.operations:
        if op.method == "GET" and (op.source_id in wanted or op.path in wanted):
            return op
    raise AssertionError(f"no GET operation of SDK {spec.name} matches {endpoint.path} ({endpoint.operation_id})")


def params_for(op: Operation, endpoint: CorpusEndpoint) -> dict[str, Any]:
    """The manifest's parameter values (by wire name) under the SDK's parameter names."""
    by_wire = {p.wire_name: p.name for p in op.parameters}
    return {by_wire[wire]: value for wire, value in endpoint.params.items() if wire in by_wire}


def first_page_query(op: Operation, endpoint: CorpusEndpoint, page_size: int) -> dict[str, str]:
    """The query of the operation's first page: the manifest's query values and the paging parameters the
    spec declares (Prism's log shows request paths without their query, and validates required ones)."""
    query = {p.wire_name: str(endpoint.params[p.wire_name]) for p in op.parameters
             if p.location.value == "query" and p.wire_name in endpoint.params}
    paging = op.pagination
    if paging.size_param:
        query[paging.size_param] = str(page_size)
    if paging.position_param and paging.style.value == "page":
        query[paging.position_param] = str(paging.first_page)
    return query


def request_of(op: Operation, received: Sequence[tuple[str, str]]) -> str | None:
    """The first GET Prism received for ``op`` (its path template matched), as ``/path?query``."""
    pattern = re.escape("/" + op.path.lstrip("/"))
    pattern = re.sub(r"\\\{[^}]*\\\}", r"[^/?]+", pattern)
    matcher = re.compile(f"^{pattern}(?:\\?.*)?$")
    for method, target in received:
        if method == "GET" and matcher.match(_unquote_path(target)):
            return target
    return None


def _unquote_path(target: str) -> str:
    from urllib.parse import unquote

    path, sep, query = target.partition("?")
    return unquote(path) + sep + query


def replay(server: PrismServer, spec: SdkSpec, secrets: Mapping[str, str], target: str) -> httpx.Response:
    """The request the SDK made, sent again directly with httpx (credentials where the SDK puts them)."""
    headers = {"Accept": "application/json"}
    for required in spec.required_headers:
        value = secrets.get(required.credential or "") if required.credential else required.value
        if value is not None:
            headers[required.name] = value
    auth = spec.auth
    scheme = auth.scheme.value
    if scheme == "bearer":
        headers["Authorization"] = f"Bearer {secrets.get(auth.credential or 'token', '')}"
    elif scheme == "basic":
        pair = f"{secrets.get(auth.username_credential or '', '')}:{secrets.get(auth.credential or '', '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
    elif scheme == "api_key_header" and auth.header_name:
        headers[auth.header_name] = secrets.get(auth.credential or "", "")
    elif scheme == "api_key_query" and auth.param_name:
        target += ("&" if "?" in target else "?") + f"{auth.param_name}={secrets.get(auth.credential or '', '')}"
    return httpx.get(server.url.rstrip("/") + target, headers=headers, timeout=60)


def odata_records(server: ODataServer, op: Operation) -> list[Mapping[str, Any]]:
    """Every record of the operation's entity set, page after page as the service hands them out."""
    url: str | None = server.url + op.path.split("?")[0]
    records: list[Mapping[str, Any]] = []
    while url:
        body = httpx.get(url, timeout=60).json()
        records += select_records(body, op.record_path)
        url = (body.get("d") or {}).get("__next") or body.get("@odata.nextLink")
    return records


def select_records(body: Any, record_path: Sequence[str]) -> list[Mapping[str, Any]]:
    """The records at ``record_path`` of a response body (objects only)."""
    node = body
    for key in record_path:
        node = node.get(key) if isinstance(node, dict) else None
    if isinstance(node, dict):
        node = [node]
    return [r for r in node if isinstance(r, dict)] if isinstance(node, list) else []


def table_rows(stack: Stack, tenant: str, table: str) -> list[dict[str, Any]]:
    info = stack.platform.tenants.get(tenant)
    with tenant_transaction(stack.platform.engine, info) as conn:
        exists = conn.execute(text("SELECT to_regclass(:t)"), {"t": f'"{info.schema_name}"."{table}"'}).scalar()
        if exists is None:
            return []
        return [dict(r) for r in conn.execute(text(f'SELECT * FROM "{table}"')).mappings()]


# -- the oracle: JSON values as Postgres should hold them -------------------------------------------------
def _key_value(value: Any) -> Any:
    return str(value) if value is not None else None


def same_value(stored: Any, raw: Any, column_type: str) -> bool:
    """True when ``stored`` (read back from Postgres) is what ``raw`` (the ERP's JSON value) means as
    ``column_type``."""
    if raw is None:
        return stored is None
    if stored is None:
        return False
    try:
        return _equal(stored, raw, column_type)
    except (ValueError, InvalidOperation, TypeError, OverflowError):
        return False


def _equal(stored: Any, raw: Any, column_type: str) -> bool:
    if column_type == "jsonb":
        return _same_json(stored, raw)
    if column_type == "text":
        if isinstance(raw, str):
            return bool(stored == raw)
        if isinstance(raw, bool):
            return bool(stored == ("true" if raw else "false"))
        if isinstance(raw, dict | list):
            return bool(json.loads(stored) == raw)
        return bool(stored == str(raw))
    if column_type in ("bigint", "integer"):
        return bool(stored == int(raw)) and not isinstance(raw, bool)
    if column_type == "double precision":
        return bool(float(stored) == float(raw)) and not isinstance(raw, bool)
    if column_type.startswith("numeric"):
        return bool(Decimal(str(stored)) == Decimal(str(raw)))
    if column_type == "boolean":
        return bool(stored is raw) if isinstance(raw, bool) else bool(stored == (str(raw).lower() in ("true", "1")))
    if column_type == "date":
        return bool(stored == _date(raw))
    if column_type == "timestamptz":
        return bool(stored == _timestamp(raw))
    raise ValueError(f"no oracle for column type {column_type}")


def _same_json(left: Any, right: Any) -> bool:
    """JSON equality with numbers compared by value (jsonb keeps ``1e308`` as a 309-digit numeric)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same_json(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_same_json(a, b) for a, b in zip(left, right, strict=True))
    numbers = (int, float, Decimal)
    if isinstance(left, numbers) and isinstance(right, numbers) and not isinstance(left, bool) \
            and not isinstance(right, bool):
        return Decimal(str(left)) == Decimal(str(right))
    return bool(left == right) and type(left) is type(right)


def _timestamp(raw: Any) -> datetime:
    text_ = str(raw).strip()
    dotnet = _DOTNET.match(text_)
    if dotnet:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(dotnet.group(1)))
    if len(text_) == 10:
        return datetime.combine(date.fromisoformat(text_), datetime.min.time(), tzinfo=UTC)
    value = datetime.fromisoformat(text_.replace("Z", "+00:00").replace("z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _date(raw: Any) -> date:
    text_ = str(raw).strip()
    if _DOTNET.match(text_) or len(text_) > 10:
        return _timestamp(text_).date()
    return date.fromisoformat(text_)


# -- for benchmarks: one spec in an environment of its own --------------------------------------------------
@contextmanager
def real_sync(home: Path) -> Iterator[RealSync]:
    """A fresh database, the local stack and a Prism pool under ``home``; everything stopped after."""
    with fresh_database("erp_real_sync") as url, running_stack(url, home, rows=10) as stack:
        (home / "prism").mkdir(parents=True, exist_ok=True)
        pool = PrismPool(log_dir=home / "prism")
        sync = RealSync(stack, pool)
        try:
            yield sync
        finally:
            sync.close()
            pool.stop_all()


def check_spec(spec_id: str, home: Path) -> SpecCheck:
    """Sync one corpus spec end to end in an environment of its own and compare (rows correct / expected:
    ``result.rows_correct``, ``result.rows_expected``)."""
    with real_sync(home) as sync:
        return sync.check(load_corpus().get(spec_id))
