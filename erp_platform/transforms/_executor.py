"""``apply_transform``: run a :class:`TransformSpec` over polars frames, lazily where it helps.

Steps stay lazy except where data must be looked at to keep the "no silent nulls" promise: a step
with a checked conversion (a ``cast`` op, or ``cast()``/``to_date()``/``to_timestamp()`` in an
expression) is collected once to verify every value converted, then continues lazily. Integer and
decimal arithmetic in expressions is checked as it runs: an overflow fails the step (no wrapped numbers).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import polars as pl

from erp_platform._errors import ValidationFailed
from erp_platform.transforms import _logical as lt
from erp_platform.transforms._context import ExecutionContext
from erp_platform.transforms._convert import (
    Check,
    conversion_rule,
    convert,
    encode_json_columns,
    verify_conversions,
)
from erp_platform.transforms._expr_compile import compile_expression
from erp_platform.transforms._plan import (
    StepPlan,
    aggregation_type,
    join_key_type,
    join_right_columns,
    plan_transform,
)
from erp_platform.transforms._spec import (
    AggregateOp,
    CastOp,
    DeduplicateOp,
    DeriveOp,
    FilterOp,
    JoinOp,
    RenameOp,
    SelectOp,
    TransformSpec,
)

_ROW = "__erp_row"
_HINT = ("fix the source values, or make the step tolerate them (e.g. filter the rows out first, or "
         "derive with if()/coalesce())")


def apply_transform(spec: TransformSpec, inputs: Mapping[str, pl.LazyFrame], *, main: str,
                    ctx: ExecutionContext) -> pl.LazyFrame:
    """Apply every step of ``spec`` to ``inputs[main]`` (joins read other inputs by activity id).

    The output is deterministic: the same inputs and the same ``ctx`` give the same rows in the same
    order (``random_id()`` and ``now()`` come from ``ctx``; joins keep the left order, then the right
    order; deduplicate keeps input order; aggregate sorts by its group keys).

    Raises:
        ValidationFailed: the spec does not fit the inputs' schemas (every problem, with its path).
        ConversionError: a checked conversion met values it cannot convert (column, type, rows).
    """
    schemas = {name: lt.schema_of_frame(frame) for name, frame in inputs.items()}
    plans, _, problems = plan_transform(spec, schemas, main=main)
    ValidationFailed.raise_if_any(f"transform {ctx.workflow}.{ctx.step} does not fit its inputs", problems)
    frames = {name: encode_json_columns(frame) for name, frame in inputs.items()}
    frame = frames[main]
    site = 0
    for plan in plans:
        frame, site = _run_step(plan, frame, frames, schemas=schemas, ctx=ctx, site=site)
    return frame


def _run_step(plan: StepPlan, frame: pl.LazyFrame, frames: Mapping[str, pl.LazyFrame], *,
              schemas: Mapping[str, Mapping[str, str]], ctx: ExecutionContext,
              site: int) -> tuple[pl.LazyFrame, int]:
    op, where = plan.op, f"transform {ctx.workflow}.{ctx.step} steps[{plan.index}] ({plan.op.op})"
    if isinstance(op, SelectOp):
        return frame.select(list(dict.fromkeys(op.columns))), site
    if isinstance(op, RenameOp):
        return frame.rename(dict(op.mapping)), site
    if isinstance(op, CastOp):
        checks: list[Check] = []
        columns: list[pl.Expr] = []
        for column, target in op.columns.items():
            source = plan.before[column]
            converted = convert(pl.col(column), source, target)
            if conversion_rule(source, target) == "checked":
                checks.append(Check(f"column {column!r}", target, pl.col(column), converted))
            columns.append(converted.alias(column))
        if not checks:
            return frame.with_columns(columns), site
        return verify_conversions(frame, checks, where=where, hint=_HINT, extra=columns).lazy(), site
    if isinstance(op, FilterOp | DeriveOp):
        compiled = compile_expression(op.expr, plan.before, ctx=ctx, first_random_site=site, where=where)
        site += compiled.random_sites
        name = op.column if isinstance(op, DeriveOp) else "__erp_keep"
        value = compiled.expr.alias(name)
        if compiled.checks:
            frame = verify_conversions(frame, compiled.checks, where=where, hint=_HINT, extra=[value]).lazy()
        else:
            frame = frame.with_columns(value)
        if isinstance(op, FilterOp):
            frame = frame.filter(pl.col(name)).drop(name)
        return frame, site
    if isinstance(op, JoinOp):
        return _join(op, frame, frames[op.with_], plan.before, schemas[op.with_]), site
    if isinstance(op, DeduplicateOp):
        indexed = frame.with_row_index(_ROW)
        if op.order_by is not None:
            indexed = indexed.sort([op.order_by, _ROW], nulls_last=False)
        kept = indexed.unique(subset=list(op.keys), keep=op.keep, maintain_order=True)
        return kept.sort(_ROW).drop(_ROW), site
    assert isinstance(op, AggregateOp)
    return _aggregate(op, frame, plan.before, plan.after), site


def _join(op: JoinOp, left: pl.LazyFrame, right: pl.LazyFrame, left_schema: Mapping[str, str],
          right_schema: Mapping[str, str]) -> pl.LazyFrame:
    left_keys, right_keys = [], []
    left_extra, right_extra = [], []
    for i, (lkey, rkey) in enumerate(op.on.items()):
        common = join_key_type(left_schema[lkey], right_schema[rkey])
        assert common is not None
        dtype = lt.dtype_of(common) if common != lt.UNKNOWN else pl.String()
        left_keys.append(f"__erp_lkey_{i}")
        right_keys.append(f"__erp_rkey_{i}")
        left_extra.append(pl.col(lkey).cast(dtype).alias(left_keys[-1]))
        right_extra.append(pl.col(rkey).cast(dtype).alias(right_keys[-1]))
    kept = [pl.col(c).alias(op.prefix + c) for c in join_right_columns(op, right_schema)]
    right_side = right.select(*right_extra, *kept)
    order: Literal["left", "left_right"] = "left_right" if op.how in ("inner", "left") else "left"
    joined = left.with_columns(left_extra).join(
        right_side, left_on=left_keys, right_on=right_keys, how=op.how, coalesce=False, maintain_order=order
    )
    existing = set(joined.collect_schema().names())
    return joined.drop([k for k in left_keys + right_keys if k in existing])


def _aggregate(op: AggregateOp, frame: pl.LazyFrame, before: Mapping[str, str],
               after: Mapping[str, str]) -> pl.LazyFrame:
    aggs: list[pl.Expr] = []
    for agg in op.aggregations:
        target = after[agg.column]
        if agg.fn == "count":
            expr = pl.len() if agg.of is None else pl.col(agg.of).count()
        elif agg.fn == "count_distinct":
            expr = pl.col(str(agg.of)).drop_nulls().n_unique()
        else:
            col = pl.col(str(agg.of))
            source = before[str(agg.of)]
            if agg.fn == "sum":
                expr = pl.when(col.count() > 0).then(col.cast(lt.dtype_of(target)).sum()).otherwise(None)
            elif agg.fn == "mean" and lt.numeric_of(target) is not None:
                dtype = lt.dtype_of(target)
                expr = pl.when(col.count() > 0).then(col.cast(dtype).sum() / col.count().cast(dtype))
            else:
                expr = getattr(col, agg.fn)()
            assert aggregation_type(agg.fn, source) == target
        aggs.append(expr.cast(lt.dtype_of(target)).alias(agg.column) if target != lt.UNKNOWN else
                    expr.alias(agg.column))
    keys = list(op.group_by)
    grouped = frame.group_by(keys, maintain_order=True).agg(aggs)
    return grouped.sort(keys, nulls_last=False, maintain_order=True)
