"""Errors of the sandbox: violations by a guest, guest-reported errors and ERP failures.

Every error raised during a call names the tenant, SDK, version and operation (see :class:`CallContext`);
egress errors also name the URL host and path (never query values, never a secret).
"""

from __future__ import annotations

from dataclasses import dataclass

from erp_platform._errors import ErpPlatformError
from erp_platform.sandbox._protocol import GuestError


@dataclass(frozen=True)
class CallContext:
    """Who is calling what: put in front of every error message raised during a call."""

    tenant: str
    sdk_name: str
    sdk_version: int
    operation: str

    def __str__(self) -> str:
        return (
            f"tenant {self.tenant!r}, SDK {self.sdk_name!r} v{self.sdk_version}, "
            f"operation {self.operation!r}"
        )


class SandboxError(ErpPlatformError):
    """An error of one SDK call; ``context`` says which tenant, SDK, version and operation."""

    def __init__(self, detail: str, *, context: CallContext | None = None) -> None:
        self.detail = detail
        self.context = context
        super().__init__(detail if context is None else f"{context}: {detail}")


class SandboxViolation(SandboxError):
    """The guest broke a rule of the sandbox (egress, resources, output). Terminal unless stated."""

    #: the prefix of the error string a host function returns to the guest, e.g. "EgressDenied"
    kind: str = "SandboxViolation"


class EgressDenied(SandboxViolation):
    """A request the guest asked for is not allowed (domain, address, scheme, header, method)."""

    kind = "EgressDenied"


class FuelExhausted(SandboxViolation):
    """The guest used all its fuel (too much computation for one call)."""

    kind = "FuelExhausted"


class MemoryLimitExceeded(SandboxViolation):
    """The guest needed more linear memory than the manifest grants."""

    kind = "MemoryLimitExceeded"


class DeadlineExceeded(SandboxViolation):
    """The call ran past its wall-clock deadline."""

    kind = "DeadlineExceeded"


class OutputTooLarge(SandboxViolation):
    """The guest's result text is larger than the manifest allows."""

    kind = "OutputTooLarge"


class ResponseTooLarge(SandboxViolation):
    """An HTTP response body is larger than the manifest allows (the download was aborted)."""

    kind = "ResponseTooLarge"


class RateLimited(SandboxViolation):
    """The tenant's request rate limit is spent; retry later."""

    kind = "RateLimited"
    transient = True


class TooManyRequests(SandboxViolation):
    """The guest made more HTTP requests in one call than the manifest allows."""

    kind = "TooManyRequests"


class InvalidGuestOutput(SandboxViolation):
    """The guest returned something that is not valid protocol JSON."""

    kind = "InvalidGuestOutput"


class GuestTrap(SandboxViolation):
    """The guest crashed (uncaught exception, stack overflow, other WebAssembly trap)."""

    kind = "GuestTrap"


class SdkCallError(SandboxError):
    """The guest reported an error itself (bad parameters, HTTP error); transient when it says so."""

    def __init__(self, guest_error: GuestError, *, context: CallContext | None = None) -> None:
        self.guest_error = guest_error
        self.transient = guest_error.retryable
        status = f" (HTTP {guest_error.status})" if guest_error.status is not None else ""
        super().__init__(
            f"the SDK reported {guest_error.kind}{status}: {guest_error.message}", context=context
        )


class UpstreamError(SandboxError):
    """The ERP failed: error status or connection failure after retries, malformed body, redirect loop."""

    def __init__(
        self,
        detail: str,
        *,
        context: CallContext | None = None,
        status: int | None = None,
        transient: bool = True,
    ) -> None:
        self.status = status
        self.transient = transient
        super().__init__(detail, context=context)


class EmptySelectionError(SandboxError):
    """A page's response held records (a non-empty array of objects) but the SDK's selector found none.

    ``selector`` is the record path the SDK used; ``held`` lists ``(path, items)`` of the non-empty
    arrays the response contained. Never transient: the selector is wrong for this response (override
    it with ``erp sdk build ... --set OPERATION.record_path=PATH``).
    """

    def __init__(
        self,
        detail: str,
        *,
        context: CallContext | None = None,
        selector: tuple[str, ...] = (),
        held: tuple[tuple[str, int], ...] = (),
    ) -> None:
        self.selector = selector
        self.held = held
        super().__init__(detail, context=context)


class PagingLoopError(SandboxError):
    """The ERP's paging does not advance: a continuation token came back that was already used."""


class NormalisationError(SandboxError):
    """A record value does not match the field kind the SDK declared for it."""


class ComponentBuildError(ErpPlatformError):
    """componentize-py could not build a guest (syntax error, import error at build time, bad input)."""


class SandboxClosed(ErpPlatformError):
    """The runtime or session was closed; open a new one."""
