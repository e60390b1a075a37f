"""Type checks through the graph: extract fields -> transforms -> load mappings, before anything runs.

Schemas flow in dependency order: an extract's schema comes from its SDK operation's entity fields, a
transform's from ``transform_schema`` over its inputs, and a load checks its mapping against its input's
schema with ``check_mapping``. Those two functions belong to ``erp_platform.transforms``; they are reached
through :func:`transforms_type_system` only (the one seam). An activity whose input schemas are not
all known (an unknown operation, an upstream with problems) is skipped, so one mistake is reported once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from erp_platform._errors import Problem
from erp_platform.sandbox._protocol import FieldKind
from erp_platform.transforms._spec import MappingSpec
from erp_platform.workflows._catalog import OperationInfo
from erp_platform.workflows._definition import (
    ExtractActivity,
    LoadActivity,
    TransformActivity,
    WorkflowDefinition,
)
from erp_platform.workflows._graph import StepGraph
from erp_platform.workflows._mapping_source import MappingSource, ResolvedMapping
from erp_platform.workflows._problems import did_you_mean
from erp_platform.workflows._rules import main_input

Schema = Mapping[str, Any]


@dataclass(frozen=True)
class TypeSystem:
    """The transforms package's schema functions, as the workflow validator calls them."""

    schema_of_fields: Callable[[Mapping[str, FieldKind]], Schema]
    transform_schema: Callable[..., tuple[Schema, list[Problem]]]
    check_mapping: Callable[[MappingSpec, Schema], list[Problem]]


def transforms_type_system() -> TypeSystem:
    """THE seam to ``erp_platform.transforms``: its ``schema_from_fields`` (FieldKind -> logical types),
    ``transform_schema`` and ``check_mapping``."""
    from erp_platform.transforms import check_mapping, schema_from_fields, transform_schema

    return TypeSystem(schema_from_fields, transform_schema, check_mapping)


def _prefixed(prefix: str, problems: list[Problem]) -> list[Problem]:
    return [replace(p, path=f"{prefix}.{p.path}" if p.path else prefix) for p in problems]


def resolve_mapping(
    i: int, activity: LoadActivity, mappings: MappingSource | None, *, for_activation: bool = False
) -> tuple[MappingSpec | None, list[Problem]]:
    """The load's mapping (inline or stored); problems when the reference does not resolve."""
    if activity.config.mapping is not None:
        return activity.config.mapping, []
    name = activity.config.mapping_ref
    if name is None or mappings is None:
        return None, []
    found: ResolvedMapping | None = mappings.resolve(name)
    path = f"activities[{i}].config.mapping_ref"
    if found is None:
        known = list(mappings.names())
        listing = f"this tenant's mappings: {', '.join(known)}" if known else "this tenant has no mapping yet"
        return None, [Problem(
            path,
            f"unknown mapping{did_you_mean(name, known)}; {listing} (store one with `erp mapping apply`)",
            name,
        )]
    if for_activation and found.status != "ACTIVE":
        return found.spec, [Problem(
            path,
            f"mapping {name!r} has no ACTIVE version (newest: v{found.version} {found.status}): activate it "
            f"first with `erp mapping activate TENANT {name} {found.version}`",
            name,
        )]
    return found.spec, []


def _business_key(i: int, activity: LoadActivity, mapping: MappingSpec) -> list[Problem]:
    targets = [c.target for c in mapping.columns]
    problems: list[Problem] = []
    for k, key in enumerate(activity.config.business_key):
        if key not in targets:
            problems.append(Problem(
                f"activities[{i}].config.business_key[{k}]",
                f"not a column of the mapping{did_you_mean(key, targets)}: the business key names target "
                f"columns ({', '.join(targets)})",
                key,
            ))
    return problems


def check_types(
    definition: WorkflowDefinition,
    graph: StepGraph,
    operations: Mapping[str, OperationInfo],
    mappings: MappingSource | None,
    *,
    for_activation: bool = False,
    type_system: TypeSystem | None = None,
) -> list[Problem]:
    """Mapping references, business keys, and (with a type system) schemas through the whole graph."""
    system = type_system or transforms_type_system()
    index = {a.id: i for i, a in reversed(list(enumerate(definition.activities)))}
    problems: list[Problem] = []
    resolved: dict[str, MappingSpec] = {}
    for i, activity in enumerate(definition.activities):
        if isinstance(activity, LoadActivity) and index[activity.id] == i:
            spec, found = resolve_mapping(i, activity, mappings, for_activation=for_activation)
            problems.extend(found)
            if spec is not None:
                resolved[activity.id] = spec
                problems.extend(_business_key(i, activity, spec))
    if not graph.acyclic:
        return problems
    schemas: dict[str, Schema] = {}
    for activity_id in graph.order:
        i = index[activity_id]
        activity = definition.activities[i]
        if isinstance(activity, ExtractActivity):
            op = operations.get(activity_id)
            if op is not None and op.fields:
                schemas[activity_id] = system.schema_of_fields(op.fields)
            continue
        main = main_input(activity, graph)
        upstream = graph.upstream.get(activity_id, ())
        if main is None or main not in upstream or not all(u in schemas for u in upstream):
            continue  # input problems are reported by the rules; unknown upstream schemas by their own checks
        if isinstance(activity, TransformActivity):
            if any(op.op == "join" and op.with_ not in upstream for op in activity.config.steps):
                continue
            inputs = {u: schemas[u] for u in upstream}
            schema, found = system.transform_schema(activity.config, inputs, main=main)
            problems.extend(_prefixed(f"activities[{i}].config", list(found)))
            if not found:
                schemas[activity_id] = schema
        elif activity_id in resolved:
            found = list(system.check_mapping(resolved[activity_id], schemas[main]))
            if activity.config.mapping is not None:
                problems.extend(_prefixed(f"activities[{i}].config.mapping", found))
            else:
                ref = f"mapping {activity.config.mapping_ref!r}: "
                path = f"activities[{i}].config.mapping_ref"
                problems.extend(replace(p, path=path, message=ref + p.render(), received=None) for p in found)
    return problems
