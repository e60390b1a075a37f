"""What the caller hands the host side of a session: secrets, egress policy, limits, audit, test hooks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from erp_platform._errors import CredentialError
from erp_platform.sandbox._egress import EgressPolicy, Resolver
from erp_platform.sandbox._ratelimit import RateLimiter
from erp_platform.sandbox._recorder import RequestRecorder

#: ``(credential_name) -> secret value``; the platform reads the tenant's credential store.
SecretProvider = Callable[[str], str]


def no_secrets(name: str) -> str:
    """A secret provider that has no secrets (SDKs with ``AuthScheme.NONE``)."""
    raise CredentialError(
        f"credential {name!r} was requested but the session has no secret provider; pass "
        "HostServices(secrets=...) that reads the tenant's credential store"
    )


@dataclass(frozen=True)
class HostServices:
    """Host-side services of one session. Everything is optional except for SDKs that need secrets.

    Attributes:
        secrets: reads a credential of the session's tenant by name; the guest never sees the value.
        egress_policy: the tenant's exceptions to the private-address rule.
        rate_limiter: per-tenant request limiter shared by every session of the process (or cluster).
        recorder: receives one record per HTTP attempt (audit trail).
        resolver: DNS resolver ``(host, port) -> [ip, ...]`` (tests map names to local servers).
        transport: an httpx transport replacing the checked network transport (tests only: it skips the
            connect-time address check; URL, header and domain checks still apply).
        sleep: used for retry back-off (tests record the delays instead of sleeping).
    """

    secrets: SecretProvider = no_secrets
    egress_policy: EgressPolicy = field(default_factory=EgressPolicy)
    rate_limiter: RateLimiter | None = None
    recorder: RequestRecorder | None = None
    resolver: Resolver | None = None
    transport: httpx.BaseTransport | None = None
    sleep: Callable[[float], None] = time.sleep
