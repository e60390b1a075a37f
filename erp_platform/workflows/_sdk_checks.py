"""Checking a definition's extracts and compatibility block against the tenant's SDK catalog."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from erp_platform._errors import Problem
from erp_platform.sandbox._protocol import RESERVED_PARAMS
from erp_platform.transforms._names import did_you_mean_field, listing
from erp_platform.workflows._catalog import OperationInfo, SdkCatalog, SdkInfo, resolve_sdk_version
from erp_platform.workflows._definition import ExtractActivity, WorkflowDefinition
from erp_platform.workflows._problems import did_you_mean


@dataclass
class CatalogCheck:
    """Problems found, and the SDK version each referenced SDK resolved to (for type checks)."""

    problems: list[Problem] = field(default_factory=list)
    resolved: dict[str, SdkInfo] = field(default_factory=dict)
    operations: dict[str, OperationInfo] = field(default_factory=dict)  # extract activity id -> operation


def _versions_text(catalog: SdkCatalog, sdk: str) -> str:
    return ", ".join(f"v{v.version} {v.status}" for v in catalog.versions(sdk)) or "none"


def _operation_hint(sdk: SdkInfo, name: str) -> str:
    names = [op.name for op in sdk.operations]
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    if close:
        quoted = [repr(c) for c in close]
        choices = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
        return f"did you mean {choices}?"
    reads = [op.name for op in sdk.operations if op.is_collection_read][:8]
    if reads:
        return f"its collection reads include: {', '.join(reads)}"
    return f"it has {len(names)} operation(s)"


def check_catalog(
    definition: WorkflowDefinition, catalog: SdkCatalog, *, for_activation: bool = False
) -> CatalogCheck:
    """Check SDKs, versions, operations, params and capabilities; ``for_activation`` requires ACTIVE SDKs."""
    result = CatalogCheck()
    required = definition.compatibility.required_sdk_version
    known = list(catalog.sdk_names())
    reported: set[str] = set()
    for i, activity in enumerate(definition.activities):
        if not isinstance(activity, ExtractActivity):
            continue
        sdk_name = activity.config.sdk
        path = f"activities[{i}].config"
        if sdk_name not in known:
            listing = f"this tenant's SDKs: {', '.join(known)}" if known else "this tenant has no SDK yet"
            result.problems.append(Problem(
                f"{path}.sdk",
                f"unknown SDK{did_you_mean(sdk_name, known)}; {listing} (build one with `erp sdk build`)",
                sdk_name,
            ))
            continue
        sdk = result.resolved.get(sdk_name) or resolve_sdk_version(catalog, sdk_name, required)
        if sdk is None:
            if sdk_name not in reported:
                reported.add(sdk_name)
                result.problems.append(_unresolved(catalog, sdk_name, required, path))
            continue
        result.resolved[sdk_name] = sdk
        if for_activation and sdk.status != "ACTIVE" and sdk_name not in reported:
            reported.add(sdk_name)
            result.problems.append(Problem(
                f"{path}.sdk",
                f"SDK {sdk.label} is {sdk.status}, not ACTIVE (versions: "
                f"{_versions_text(catalog, sdk_name)}): "
                "activate that SDK version first"
                + (" or pin compatibility.required_sdk_version to an ACTIVE one" if required else ""),
                sdk_name,
            ))
        op = sdk.operation(activity.config.operation)
        if op is None:
            result.problems.append(Problem(
                f"{path}.operation",
                f"SDK {sdk.label} has no operation {activity.config.operation!r}: "
                f"{_operation_hint(sdk, activity.config.operation)}",
                activity.config.operation,
            ))
            continue
        result.operations[activity.id] = op
        result.problems.extend(_operation_problems(i, activity, op, sdk))
    result.problems.extend(_compatibility(definition, result.resolved))
    return result


def _unresolved(catalog: SdkCatalog, sdk: str, required: int | None, path: str) -> Problem:
    versions = _versions_text(catalog, sdk)
    if required is not None:
        return Problem(
            "compatibility.required_sdk_version",
            f"SDK {sdk!r} has no version {required} (versions: {versions}): set required_sdk_version to one "
            "of them or remove it",
            required,
        )
    return Problem(
        f"{path}.sdk",
        f"SDK {sdk!r} has no usable version (versions: {versions}): build a new version with `erp sdk build`",
        sdk,
    )


def _operation_problems(i: int, activity: ExtractActivity, op: OperationInfo, sdk: SdkInfo) -> list[Problem]:
    path = f"activities[{i}].config"
    problems: list[Problem] = []
    # A side-effecting call on purpose is allowed; its idempotency strategy is checked by the rules.
    if not op.is_collection_read and not activity.side_effect:
        what = f"{op.method} operation" if op.method not in ("GET", "HEAD") else "single-record operation"
        problems.append(Problem(
            f"{path}.operation",
            f"{op.name!r} is a {what}, but an extract reads a collection with GET: choose a collection read, "
            "or, to call it on purpose, set side_effect: true and idempotency_strategy: request_id",
            op.name,
        ))
    elif op.is_collection_read and not op.fields:
        problems.append(Problem(
            f"{path}.operation",
            f"operation {op.name!r} of SDK {sdk.label} declares no record fields (its spec describes no schema "
            "for the records), so its records cannot be typed or loaded: rebuild the SDK from a spec that "
            "describes them, or choose another operation",
            op.name,
        ))
    if activity.config.incremental and not op.incremental:
        problems.append(Problem(
            f"{path}.incremental",
            f"operation {op.name!r} of SDK {sdk.label} does not support incremental reads (its spec has no "
            "change-tracking field): set incremental: false",
            True,
        ))
    size = activity.config.page_size  # left out, it is capped at the maximum when the extract runs
    if size is not None and op.max_page_size is not None and size > op.max_page_size:
        problems.append(Problem(
            f"{path}.page_size",
            f"operation {op.name!r} accepts pages of at most {op.max_page_size} records: set page_size to "
            f"{op.max_page_size} or less",
            activity.config.page_size,
        ))
    problems.extend(_cursor_problems(path, activity, op))
    accepted = {p.name for p in op.params}
    for key in activity.config.params:
        if key in accepted or key in RESERVED_PARAMS:
            continue
        takes = ", ".join(sorted(accepted)) if accepted else "no parameters"
        problems.append(Problem(
            f"{path}.params.{key}",
            f"unknown parameter{did_you_mean(key, accepted)}: operation {op.name!r} takes {takes}",
            key,
        ))
    for param in op.params:
        if param.required and param.name not in activity.config.params:
            problems.append(Problem(
                f"{path}.params",
                f"missing required parameter {param.name!r} of operation {op.name!r}: add it under params",
            ))
    return problems


def _cursor_problems(path: str, activity: ExtractActivity, op: OperationInfo) -> list[Problem]:
    cursor = activity.config.cursor_field
    if cursor is not None and not activity.config.incremental:
        return [Problem(f"{path}.cursor_field", "only an incremental extract has a change cursor: set "
                        "incremental: true, or remove cursor_field", cursor)]
    if not activity.config.incremental or not op.incremental or not op.fields:
        return []
    fields = list(op.fields)
    if cursor is not None and cursor not in op.fields:
        return [Problem(f"{path}.cursor_field", f"operation {op.name!r} returns no field {cursor!r}"
                        f"{did_you_mean_field(cursor, fields)}; its fields (exact names): {listing(cursor, fields)}",
                        cursor)]
    if cursor is None and op.cursor_field is None:
        return [Problem(f"{path}.cursor_field", f"operation {op.name!r} reads changes since a cursor but its SDK "
                        "names no change field: set cursor_field to the record field holding the time of the "
                        f"last change (its fields: {listing('', fields)})")]
    return []


def _compatibility(definition: WorkflowDefinition, resolved: dict[str, SdkInfo]) -> list[Problem]:
    compat = definition.compatibility
    problems: list[Problem] = []
    uses_sdk = any(isinstance(a, ExtractActivity) for a in definition.activities)
    if compat.required_sdk_version is not None and not uses_sdk:
        problems.append(Problem(
            "compatibility.required_sdk_version",
            "this workflow has no extract, so it uses no SDK: remove required_sdk_version",
            compat.required_sdk_version,
        ))
    offered = sorted({cap for sdk in resolved.values() for cap in sdk.capabilities})
    sdks = ", ".join(sdk.label for sdk in resolved.values())
    if not uses_sdk or resolved:
        for k, cap in enumerate(compat.required_capabilities):
            if cap in offered:
                continue
            where = f"by the SDKs this workflow uses ({sdks})" if resolved else "(this workflow uses no SDK)"
            problems.append(Problem(
                f"compatibility.required_capabilities[{k}]",
                f"capability not offered {where}{did_you_mean(cap, offered)}: remove it or use an SDK "
                "version "
                "that offers it",
                cap,
            ))
    return problems
