"""One Dagster code location per tenant: ``code_locations.tenants:<slug>`` is that tenant's Definitions.

The attribute is resolved lazily (PEP 562): workspace entries name the tenant slug as the attribute, and
every process (code server, run worker) rebuilds the same Definitions from the registry's ACTIVE artifacts.
"""

from __future__ import annotations

from typing import Any


class CodeLocationBuildError(RuntimeError):
    """Building a tenant's Definitions failed (never an AttributeError: Dagster would report "not found")."""


def __getattr__(name: str) -> Any:
    if name.startswith("__"):
        raise AttributeError(name)
    from erp_platform.orchestration._definitions import build_tenant_definitions

    try:
        return build_tenant_definitions(name)
    except AttributeError as exc:
        raise CodeLocationBuildError(
            f"building the code location of tenant {name!r} failed: {exc!r}"
        ) from exc
