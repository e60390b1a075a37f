"""What the SDK registry returns: SDK versions, their artifacts and their sandbox test reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sdk_builder import CredentialRequirement, Operation, OperationEvidence, SkippedOperation

SdkStatus = Literal["TESTING", "ACTIVE", "REVOKED", "FAILED"]
TestTarget = Literal["mock_erp", "sample_responses"]

_FROZEN = ConfigDict(extra="forbid", frozen=True)


class OperationTestResult(BaseModel):
    """One operation exercised through the real WebAssembly component during a build."""

    model_config = _FROZEN

    operation: str
    kind: Literal["collection", "single"]
    passed: bool
    pages: int = Field(0, description="pages fetched")
    records: int = Field(0, description="records received over all pages")
    checks: tuple[str, ...] = Field((), description="what was checked and held")
    error: str | None = Field(None, description="the first failed check or error, when not passed")


class SdkTestReport(BaseModel):
    """The sandbox tests of one build: which operations ran, against what, and how each went."""

    model_config = _FROZEN

    target: TestTarget = Field(description="the in-process mock ERP, or responses synthesised from the spec")
    passed: bool
    describe_ok: bool = Field(description="describe() listed exactly the SDK's operations")
    get_operations: int = Field(description="GET operations of the SDK (the candidates)")
    max_operations: int = Field(description="the per-build bound on tested operations")
    tested: tuple[str, ...] = Field((), description="operations exercised, in test order")
    not_tested: tuple[str, ...] = Field((), description="GET operations left out by the bound")
    results: tuple[OperationTestResult, ...] = ()
    problems: tuple[str, ...] = Field((), description="failures outside any one operation")
    seconds: float = 0.0

    @property
    def failed(self) -> tuple[OperationTestResult, ...]:
        """The operations that failed."""
        return tuple(r for r in self.results if not r.passed)

    def summary(self) -> str:
        """``20/20 operations passed against the mock ERP`` (+ failures and untested operations)."""
        where = "the mock ERP" if self.target == "mock_erp" else "sample responses"
        passed = sum(1 for r in self.results if r.passed)
        text = f"{passed}/{len(self.results)} operations passed against {where}"
        if not self.describe_ok:
            text += "; describe() does not match the SDK's operations"
        if self.failed:
            text += f"; failed: {', '.join(r.operation for r in self.failed[:5])}"
            if len(self.failed) > 5:
                text += f" and {len(self.failed) - 5} more"
        if self.not_tested:
            text += (
                f"; {len(self.not_tested)} GET operations not tested "
                f"(at most {self.max_operations} per build)"
            )
        return text


class OperationDecisions(BaseModel):
    """What the builder decided for one list operation, each with its evidence."""

    model_config = _FROZEN

    operation: str
    path: str
    selector: str = Field(description="record path, dotted; '(top level)' for a top-level array")
    paging: str = Field(description="paging style and its parameters, e.g. 'page(page) fixed 100'")
    primary_key: tuple[str, ...] = ()
    incremental: str | None = Field(None, description="how _since is sent and the change field, or None")
    evidence: OperationEvidence = OperationEvidence()

    @classmethod
    def of(cls, op: Operation) -> OperationDecisions:
        """The decisions of one list operation of an SdkSpec."""
        paging = op.pagination.detail()
        inc = op.incremental
        incremental = None
        if inc is not None:
            incremental = f"{inc.mode.value} {inc.param}" + (f" -> {inc.field}" if inc.field else "")
        return cls(
            operation=op.id, path=op.path, selector=".".join(op.record_path) or "(top level)", paging=paging,
            primary_key=op.primary_key, incremental=incremental, evidence=op.evidence,
        )


class SdkCheckReport(BaseModel):
    """One live, read-only call of an SDK operation with the tenant's credentials (``erp sdk check``)."""

    model_config = _FROZEN

    tenant: str
    sdk: str
    version: int
    operation: str
    base_url: str
    selector: str = Field(description="record path the SDK reads, dotted; '(top level)' for a top-level array")
    paging: str = ""
    status: int | None = Field(None, description="HTTP status of the response, when one came back")
    records: int = Field(0, description="records the selector found on the first page")
    fields: tuple[str, ...] = Field((), description="field names of the first record")
    next: str = Field("none (last page)", description="the continuation to the next page, masked")
    requests: int = 0
    milliseconds: float = 0.0
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No problem was found."""
        return not self.problems


class ArtifactRefs(BaseModel):
    """Object keys of one SDK version's artifacts, all under ``tenants/{tenant}/sdks/{name}/v{version}/``."""

    model_config = _FROZEN

    spec: str | None = Field(None, description="the spec exactly as submitted")
    code: str | None = Field(None, description="folder holding every generated guest file")
    facade: str | None = Field(None, description="the host-side typed facade module")
    wasm: str | None = Field(None, description="the WebAssembly component")
    precompiled: str | None = Field(
        None, description="machine code for this wasmtime build; the file name is its sha256"
    )


class SdkVersionInfo(BaseModel):
    """One registered SDK version of one tenant."""

    model_config = _FROZEN

    tenant: str
    name: str
    version: int
    status: SdkStatus
    title: str = ""
    source_format: str = ""
    base_url: str = ""
    spec_hash: str
    code_hash: str
    wasm_hash: str | None
    builder_version: str
    operation_count: int
    skipped_operations: tuple[SkippedOperation, ...] = ()
    capabilities: tuple[str, ...] = ()
    allowed_domains: tuple[str, ...] = ()
    test_results: SdkTestReport | None = None
    security_scan: dict[str, Any] = Field(default_factory=dict)
    artifacts: ArtifactRefs = ArtifactRefs()
    created_by: str
    created_at: datetime
    activated_at: datetime | None = None
    revoked_at: datetime | None = None
    base_url_evidence: str = Field("", description="why this base URL: --base-url, or which server of the spec")
    credentials: tuple[CredentialRequirement, ...] = Field(
        (), description="credentials the SDK needs in the tenant's store, with where they go"
    )
    decisions: tuple[OperationDecisions, ...] = Field(
        (), description="selector, paging, primary key and incremental of each list operation, with evidence"
    )
    overrides: tuple[str, ...] = Field((), description="operator overrides applied (OPERATION.FIELD=VALUE)")
    unchanged: bool = Field(
        False, description="build only: the same spec and options were already registered as this version"
    )
    warnings: tuple[str, ...] = Field((), description="parser warnings (returned by build only)")
    timings: dict[str, float] = Field(
        default_factory=dict,
        description="seconds per build stage: parse, generate, scan, compile, precompile, sandbox_tests, "
        "register, total (returned by build only; cached stages take ~0)",
    )

    @property
    def label(self) -> str:
        """``SDK 'mock_erp' v3 of tenant 'acme'``."""
        return f"SDK {self.name!r} v{self.version} of tenant {self.tenant!r}"

    def test_summary(self) -> str:
        """One line about the sandbox tests."""
        return self.test_results.summary() if self.test_results is not None else "not tested"
