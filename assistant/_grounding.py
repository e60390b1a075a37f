"""Names a draft may use: only what the tenant's catalog has, or what the draft itself creates.

:func:`invented_names` walks a definition in step order with the columns each activity produces (an
extract: its entity's fields; a transform: what its steps keep, rename, derive, join or aggregate) and
reports every SDK, operation, field or column that is referenced but comes from neither: an extract's
change cursor must be a field of its read, a load's business key a column the load writes (or the field
mapped to it). The normal
validator checks the same things with types; this walk exists so a draft with an invented name is refused
before anything else runs and so invented names can be counted.
"""

from __future__ import annotations

from assistant._catalog import CatalogView
from erp_platform._errors import Problem
from erp_platform.transforms import (
    AggregateOp,
    CastOp,
    DeduplicateOp,
    DeriveOp,
    JoinOp,
    RenameOp,
    SelectOp,
    column_name,
)
from erp_platform.workflows import (
    ExtractActivity,
    LoadActivity,
    TransformActivity,
    WorkflowDefinition,
    analyse_steps,
    main_input,
)


def _listing(names: list[str] | set[str], limit: int = 25) -> str:
    ordered = sorted(names)
    shown = ", ".join(ordered[:limit])
    return shown + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "") if ordered else "none"


def invented_names(definition: WorkflowDefinition, catalog: CatalogView) -> list[Problem]:
    """Every name ``definition`` references that is neither in ``catalog`` nor created by the draft."""
    problems: list[Problem] = []
    graph, _ = analyse_steps(definition)
    index = {a.id: i for i, a in enumerate(definition.activities)}
    columns: dict[str, list[str]] = {}
    order = graph.order if graph.acyclic else [a.id for a in definition.activities]
    for activity_id in order:
        i = index[activity_id]
        activity = definition.activities[i]
        path = f"activities[{i}].config"
        if isinstance(activity, ExtractActivity):
            cfg = activity.config
            sdk = catalog.sdk(cfg.sdk)
            if sdk is None:
                problems.append(Problem(f"{path}.sdk", catalog.unknown_sdk_message(cfg.sdk), cfg.sdk))
                continue
            op = catalog.operation(cfg.sdk, cfg.operation)
            if op is None:
                problems.append(Problem(f"{path}.operation", catalog.unknown_operation_message(cfg.sdk, cfg.operation),
                                        cfg.operation))
                continue
            columns[activity.id] = [f.name for f in op.fields]
            if cfg.cursor_field is not None and op.field(cfg.cursor_field) is None:
                problems.append(Problem(
                    f"{path}.cursor_field",
                    f"operation {op.name!r} returns no field {cfg.cursor_field!r} to use as change cursor; "
                    f"its date/time fields: {_listing(set(op.cursor_candidates()))}"
                    + (f" (the SDK's change field is {op.incremental_field!r})" if op.incremental_field else ""),
                    cfg.cursor_field,
                ))
            continue
        main = main_input(activity, graph) if graph.acyclic else None
        if main is None or main not in columns:
            continue  # the validator reports the missing input; unknown upstream columns were reported there
        available = list(columns[main])
        if isinstance(activity, TransformActivity):
            for k, step in enumerate(activity.config.steps):
                available = _step(step, available, columns, f"{path}.steps[{k}]", problems)
            columns[activity.id] = available
        elif isinstance(activity, LoadActivity):
            _load(activity, available, main, path, problems)
    return problems


def _load(activity: LoadActivity, available: list[str], main: str, path: str, problems: list[Problem]) -> None:
    cfg = activity.config
    if cfg.mapping is not None:
        for k, column in enumerate(cfg.mapping.columns):
            if column.source not in available:
                problems.append(Problem(
                    f"{path}.mapping.columns[{k}].source",
                    f"field {column.source!r} does not exist in the input {main!r}; available: "
                    f"{_listing(set(available))}",
                    column.source,
                ))
        written = {str(c.target) for c in cfg.mapping.columns} | {c.source for c in cfg.mapping.columns}
    elif cfg.mapping_ref is not None:
        return  # a stored mapping: the validator checks the key against it
    else:
        written = set(available) | {column_name(c) for c in available}
    for k, key in enumerate(cfg.business_key or ()):
        if key not in written:
            problems.append(Problem(
                f"{path}.business_key[{k}]",
                f"business key {key!r} is not a column load {activity.id!r} writes; its columns: "
                f"{_listing({str(c.target) for c in cfg.mapping.columns} if cfg.mapping else written)}",
                key,
            ))


def _missing(names: list[str], available: list[str], path: str, problems: list[Problem]) -> None:
    for name in names:
        if name not in available:
            problems.append(Problem(path, f"column {name!r} does not exist here; available: "
                                    f"{_listing(set(available))}", name))


def _step(step: object, available: list[str], columns: dict[str, list[str]], path: str,
          problems: list[Problem]) -> list[str]:
    if isinstance(step, SelectOp):
        _missing(step.columns, available, f"{path}.columns", problems)
        return [c for c in step.columns if c in available]
    if isinstance(step, RenameOp):
        _missing(list(step.mapping), available, f"{path}.mapping", problems)
        return [step.mapping.get(c, c) for c in available]
    if isinstance(step, CastOp):
        _missing(list(step.columns), available, f"{path}.columns", problems)
        return available
    if isinstance(step, DeriveOp):
        return available if step.column in available else [*available, step.column]
    if isinstance(step, DeduplicateOp):
        _missing([*step.keys, *([step.order_by] if step.order_by else [])], available, f"{path}.keys", problems)
        return available
    if isinstance(step, AggregateOp):
        _missing(step.group_by, available, f"{path}.group_by", problems)
        _missing([a.of for a in step.aggregations if a.of], available, f"{path}.aggregations", problems)
        return [*step.group_by, *(a.column for a in step.aggregations)]
    if isinstance(step, JoinOp):
        right = columns.get(step.with_)
        _missing(list(step.on), available, f"{path}.on", problems)
        if right is None:
            return available
        _missing(list(step.on.values()), right, f"{path}.on", problems)
        kept = step.select if step.select is not None else [c for c in right if c not in step.on.values()]
        _missing(list(kept), right, f"{path}.select", problems)
        if step.how in ("semi", "anti"):
            return available
        return [*available, *(f"{step.prefix}{c}" for c in kept if c in right)]
    return available  # filter: same columns
