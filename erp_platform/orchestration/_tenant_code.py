"""Hand-written Dagster code of a tenant: the Python files in ``$ERP_HOME/code/<tenant>/``.

Each file is imported into the tenant's code location (and only that one) next to the compiled workflows.
Its module-level assets, asset checks, jobs, schedules and sensors are added; they may take the tenant's SDK
resources (:class:`ErpSdkResource`, one per ACTIVE SDK version, named after the SDK). Every asset key must
start with the tenant's slug, like the compiled ones, so lineage, the run queue and the object store keep
telling tenants apart.

This is trusted Python that runs unsandboxed in the tenant's code server and run workers: review it like
any deployment. What reaches the ERP goes through the SDK resource and so through the WASM sandbox, the
tenant's egress policy, credentials, rate limits, flags and audit trail.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from erp_platform._errors import InvalidInputError, TenantIsolationError

_MODULE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def tenant_code_dir(home: Path, tenant: str) -> Path:
    """Where a tenant's hand-written Dagster code lives: ``$ERP_HOME/code/<tenant>``."""
    return home / "code" / tenant


def tenant_code_digest(home: Path, tenant: str) -> str:
    """A digest of the tenant's code files (names, sizes and contents): it changes when any file does."""
    digest = hashlib.sha256()
    for path in _files(tenant_code_dir(home, tenant)):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.py") if p.is_file()) if folder.is_dir() else []


@dataclass
class TenantCode:
    """What a tenant's code files define, ready to add to its Definitions."""

    assets: list[dg.AssetsDefinition] = field(default_factory=list)
    jobs: list[dg.JobDefinition | UnresolvedAssetJobDefinition] = field(default_factory=list)
    schedules: list[dg.ScheduleDefinition] = field(default_factory=list)
    sensors: list[dg.SensorDefinition] = field(default_factory=list)


def load_tenant_code(home: Path, tenant: str) -> TenantCode:
    """Import every ``*.py`` of the tenant's code folder (by file name) and collect its definitions.

    Raises:
        InvalidInputError: a file name is not a module name, or a file fails to import (file and error).
        TenantIsolationError: an asset key does not start with the tenant's slug.
    """
    code = TenantCode()
    for path in _files(tenant_code_dir(home, tenant)):
        module = _import(tenant, path)
        for value in vars(module).values():
            if isinstance(value, dg.AssetsDefinition):
                _check_keys(tenant, path, value)
                if value not in code.assets:
                    code.assets.append(value)
            elif isinstance(value, dg.JobDefinition | UnresolvedAssetJobDefinition) and value not in code.jobs:
                code.jobs.append(value)
            elif isinstance(value, dg.ScheduleDefinition) and value not in code.schedules:
                code.schedules.append(value)
            elif isinstance(value, dg.SensorDefinition) and value not in code.sensors:
                code.sensors.append(value)
    return code


def _import(tenant: str, path: Path) -> ModuleType:
    if _MODULE_NAME.fullmatch(path.stem) is None:
        raise InvalidInputError(
            f"{path}: a code file's name must be a lowercase Python module name (letters, digits and _, not "
            "starting with a digit), e.g. top_customers.py; rename it"
        )
    name = f"erp_tenant_code.{tenant}.{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has a loader
        raise InvalidInputError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(name, None)
        raise InvalidInputError(
            f"{path}: importing the tenant's code failed: {type(exc).__name__}: {exc}; fix the file (the tenant's "
            "code location loads again once it imports)"
        ) from exc
    return module


def _check_keys(tenant: str, path: Path, assets: dg.AssetsDefinition) -> None:
    for key in sorted(assets.keys, key=lambda k: k.to_user_string()):
        if key.path[0] != tenant:
            raise TenantIsolationError(
                f"{path}: asset {key.to_user_string()} is outside tenant {tenant!r}: every asset key of the "
                f"tenant's code starts with its slug, e.g. key=[{tenant!r}, \"reports\", "
                f"\"{tenant}__{key.path[-1]}\"] or key_prefix=[{tenant!r}]"
            )
