"""Type checks through the graph: extract fields -> transforms -> load mappings, before anything runs.

Schemas flow in dependency order: an extract's schema comes from its SDK operation's entity fields, a
transform's from ``transform_schema`` over its inputs, and a load checks its mapping against its input's
schema with ``check_mapping``. Primary keys flow the same way (the SDK operation's, carried through
transforms by ``transform_key``). Each load gets a :class:`LoadPlan`: its mapping completed (default
targets and types) or, without one, derived from its input's fields; its business key as given (target
columns or source fields) or, without one, the SDK's primary key. The schema functions belong to
``erp_platform.transforms``; they are reached through :func:`transforms_type_system` only (the one seam).
An activity whose input schemas are not all known (an unknown operation, an upstream with problems) is
skipped, so one mistake is reported once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from erp_platform._errors import Problem
from erp_platform.loader._keys import resolve_business_key
from erp_platform.sandbox._protocol import FieldKind
from erp_platform.transforms._spec import MappingSpec, TransformSpec
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
    complete_mapping: Callable[[MappingSpec, Schema], MappingSpec]
    derive_mapping: Callable[[Schema], MappingSpec]
    transform_key: Callable[[TransformSpec, Sequence[str] | None], tuple[str, ...] | None]


def transforms_type_system() -> TypeSystem:
    """THE seam to ``erp_platform.transforms``: its ``schema_from_fields`` (FieldKind -> logical types),
    ``transform_schema``, ``check_mapping``, ``complete_mapping``, ``derive_mapping`` and ``transform_key``."""
    from erp_platform.transforms import (
        check_mapping,
        complete_mapping,
        derive_mapping,
        schema_from_fields,
        transform_key,
        transform_schema,
    )

    return TypeSystem(schema_from_fields, transform_schema, check_mapping, complete_mapping, derive_mapping,
                      transform_key)


MappingOrigin = Literal["inline", "stored", "derived"]
KeyOrigin = Literal["given", "sdk"]


class LoadPlan(BaseModel):
    """What a load writes, resolved against the SDK version the workflow uses: the complete mapping
    (targets and types filled in, or derived from the input's fields) and the business key columns."""

    model_config = ConfigDict(frozen=True)

    activity: str
    table: str
    mapping: MappingSpec = Field(description="complete: every column has its target and type")
    business_key: tuple[str, ...] = Field(description="target columns of the business key")
    mapping_origin: MappingOrigin = Field(description="inline, stored (mapping_ref) or derived (no mapping)")
    key_origin: KeyOrigin = Field(description="given in the definition, or the SDK's primary key")
    key_source: tuple[str, ...] = Field((), description="sdk: the record fields of the SDK's primary key")


@dataclass
class TypeAnalysis:
    """Problems found through the graph, and the plan of every load whose input could be typed."""

    problems: list[Problem] = field(default_factory=list)
    plans: dict[str, LoadPlan] = field(default_factory=dict)


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


def analyse_types(
    definition: WorkflowDefinition,
    graph: StepGraph,
    operations: Mapping[str, OperationInfo],
    mappings: MappingSource | None,
    *,
    for_activation: bool = False,
    type_system: TypeSystem | None = None,
) -> TypeAnalysis:
    """Type-check the graph in dependency order and plan every load.

    Args:
        operations: the SDK operation of each extract activity (by activity id); extracts missing here
            have unknown schemas, and what reads them is not checked.
        mappings: the tenant's stored mappings (``mapping_ref``); None: references are not resolved.
    """
    analyser = _Analyser(definition, graph, operations, type_system or transforms_type_system())
    index = analyser.index
    for i, activity in enumerate(definition.activities):
        if isinstance(activity, LoadActivity) and index[activity.id] == i:
            spec, found = resolve_mapping(i, activity, mappings, for_activation=for_activation)
            analyser.out.problems.extend(found)
            if spec is not None:
                analyser.mappings[activity.id] = spec
    if graph.acyclic:
        analyser.walk()
    for i, activity in enumerate(definition.activities):
        if isinstance(activity, LoadActivity) and index[activity.id] == i and activity.id not in analyser.typed:
            analyser.plan_untyped_load(i, activity)
    return analyser.out


@dataclass
class _Analyser:
    definition: WorkflowDefinition
    graph: StepGraph
    operations: Mapping[str, OperationInfo]
    system: TypeSystem
    out: TypeAnalysis = field(default_factory=TypeAnalysis)
    mappings: dict[str, MappingSpec] = field(default_factory=dict)  # load id -> its inline/stored mapping
    schemas: dict[str, Schema] = field(default_factory=dict)
    keys: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    typed: set[str] = field(default_factory=set)  # loads whose input schema is known

    @property
    def index(self) -> dict[str, int]:
        return {a.id: i for i, a in reversed(list(enumerate(self.definition.activities)))}

    def walk(self) -> None:
        """Schemas and keys of every activity in dependency order; loads planned as they come."""
        index = self.index
        for activity_id in self.graph.order:
            i = index[activity_id]
            activity = self.definition.activities[i]
            if isinstance(activity, ExtractActivity):
                op = self.operations.get(activity_id)
                if op is not None:
                    self.keys[activity_id] = op.primary_key or None
                    if op.fields:
                        self.schemas[activity_id] = self.system.schema_of_fields(op.fields)
                continue
            main = main_input(activity, self.graph)
            upstream = self.graph.upstream.get(activity_id, ())
            if main is None or main not in upstream or not all(u in self.schemas for u in upstream):
                continue  # input problems are reported by the rules; unknown upstreams by their own checks
            if isinstance(activity, TransformActivity):
                self._transform(i, activity, main, upstream)
            else:
                self.typed.add(activity_id)
                self._plan_load(i, activity, main)

    def _transform(self, i: int, activity: TransformActivity, main: str, upstream: tuple[str, ...]) -> None:
        if any(op.op == "join" and op.with_ not in upstream for op in activity.config.steps):
            return
        inputs = {u: self.schemas[u] for u in upstream}
        schema, found = self.system.transform_schema(activity.config, inputs, main=main)
        self.out.problems.extend(_prefixed(f"activities[{i}].config", list(found)))
        if not found:
            self.schemas[activity.id] = schema
            self.keys[activity.id] = self.system.transform_key(activity.config, self.keys.get(main))

    def plan_untyped_load(self, i: int, activity: LoadActivity) -> None:
        """A load whose input's fields are unknown (no catalog, an unknown operation): its business key is
        checked against a complete mapping; everything else waits for the fields."""
        config, mapping = activity.config, self.mappings.get(activity.id)
        if mapping is None or not mapping.complete or config.business_key is None:
            return
        self._keyed(i, activity, mapping, config.business_key, "given")

    def _plan_load(self, i: int, activity: LoadActivity, main: str) -> None:
        config, mapping, schema = activity.config, self.mappings.get(activity.id), self.schemas[main]
        if mapping is None and config.mapping_ref is not None:
            return  # an unresolved reference is reported by resolve_mapping
        found = list(self.system.check_mapping(mapping, schema)) if mapping is not None else []
        if config.mapping is not None:
            self.out.problems.extend(_prefixed(f"activities[{i}].config.mapping", found))
        elif config.mapping_ref is not None:
            ref, path = f"mapping {config.mapping_ref!r}: ", f"activities[{i}].config.mapping_ref"
            self.out.problems.extend(replace(p, path=path, message=ref + p.render(), received=None) for p in found)
        if found:
            return
        complete = (self.system.complete_mapping(mapping, schema) if mapping is not None
                    else self.system.derive_mapping(schema))
        if not complete.columns:
            self.out.problems.append(Problem(
                f"activities[{i}].config",
                f"load {activity.id!r} has no mapping and its input {main!r} has no fields to derive one from: "
                "write a mapping (columns with source, target and type)",
            ))
            return
        if config.business_key is not None:
            self._keyed(i, activity, complete, config.business_key, "given")
            return
        upstream_key = self.keys.get(main)
        targets = ", ".join(str(c.target) for c in complete.columns)
        key_path = f"activities[{i}].config.business_key"
        if not upstream_key:
            self.out.problems.append(Problem(
                key_path,
                f"required: the records load {activity.id!r} reads (from {main!r}) have no primary key declared "
                f"by their SDK operation; set business_key to the target columns that identify a row (columns: "
                f"{targets})",
            ))
            return
        unmapped = [k for k in upstream_key if k not in {c.source for c in complete.columns}]
        if unmapped:
            self.out.problems.append(Problem(
                key_path,
                f"required: the SDK's primary key ({', '.join(upstream_key)}) of the records load "
                f"{activity.id!r} reads is not fully mapped (missing: {', '.join(unmapped)}): map those fields, "
                f"or set business_key to the target columns that identify a row (columns: {targets})",
            ))
            return
        self._keyed(i, activity, complete, upstream_key, "sdk")

    def _keyed(self, i: int, activity: LoadActivity, mapping: MappingSpec, key: Sequence[str],
               key_origin: KeyOrigin) -> None:
        """Resolve the business key against the complete mapping; a plan when it resolves."""
        columns, problems = resolve_business_key(key, mapping, path=f"activities[{i}].config.business_key")
        self.out.problems.extend(problems)
        if problems:
            return
        config = activity.config
        origin: MappingOrigin = ("inline" if config.mapping is not None else
                                 "stored" if config.mapping_ref is not None else "derived")
        self.out.plans[activity.id] = LoadPlan(
            activity=activity.id, table=config.table, mapping=mapping, business_key=tuple(columns),
            mapping_origin=origin, key_origin=key_origin,
            key_source=tuple(key) if key_origin == "sdk" else (),
        )
