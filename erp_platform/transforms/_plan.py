"""Schema propagation through a transform spec, without data: what every step sees and produces.

Problems carry JSON paths (``steps[2].expr``, ``steps[0].columns[1]``, ``steps[3].on.customer_id``)
and the received value. A step with problems still yields a best-effort schema (unknown types where a
column could not be typed) so later steps are checked too without follow-on noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from erp_platform._errors import Problem
from erp_platform.transforms import _logical as lt
from erp_platform.transforms._convert import conversion_rule, refusal_hint
from erp_platform.transforms._errors import ExpressionError
from erp_platform.transforms._expr_compile import compile_expression
from erp_platform.transforms._spec import (
    AggregateOp,
    CastOp,
    DeduplicateOp,
    DeriveOp,
    FilterOp,
    JoinOp,
    RenameOp,
    SelectOp,
    TransformOp,
    TransformSpec,
)


@dataclass(frozen=True)
class StepPlan:
    """One step with the schema it reads (``before``) and the schema it produces (``after``)."""

    index: int
    op: TransformOp
    before: dict[str, str]
    after: dict[str, str]


def transform_schema(spec: TransformSpec, input_schemas: Mapping[str, lt.Schema], *,
                     main: str) -> tuple[dict[str, str], list[Problem]]:
    """The output schema of ``spec`` applied to inputs with ``input_schemas``, and every problem found.

    Args:
        spec: the transform.
        input_schemas: logical schema of each input activity (e.g. from :func:`schema_from_fields`).
        main: the input the steps start from (``spec.input`` or the step's first dependency).

    Returns:
        The output schema (best effort when there are problems) and the problems, each with its path.
    """
    _, schema, problems = plan_transform(spec, input_schemas, main=main)
    return schema, problems


def transform_key(spec: TransformSpec, main_key: Sequence[str] | None) -> tuple[str, ...] | None:
    """The columns that identify a row of the transform's output, given those of its main input.

    Renames carry the key along; ``deduplicate`` keys on its keys and ``aggregate`` on its group; a
    ``select`` that drops a key column or a ``derive`` that replaces one loses it (None). Joins keep the
    main input's key (a key matched several times on the joined side collapses to its last row on load).
    """
    key = tuple(main_key) if main_key else None
    for op in spec.steps:
        if isinstance(op, DeduplicateOp):
            key = tuple(op.keys)
        elif isinstance(op, AggregateOp):
            key = tuple(op.group_by)
        elif key is None:
            continue
        elif isinstance(op, RenameOp):
            key = tuple(op.mapping.get(k, k) for k in key)
        elif _drops_key(op, key):
            key = None
    return key


def _drops_key(op: TransformOp, key: tuple[str, ...]) -> bool:
    if isinstance(op, SelectOp):
        return not set(key) <= set(op.columns)
    return isinstance(op, DeriveOp) and op.column in key


def plan_transform(spec: TransformSpec, input_schemas: Mapping[str, lt.Schema], *,
                   main: str) -> tuple[list[StepPlan], dict[str, str], list[Problem]]:
    """Per-step schemas of ``spec``; see :func:`transform_schema`."""
    problems: list[Problem] = []
    inputs = {name: _normalized(schema, name, problems) for name, schema in input_schemas.items()}
    if spec.input is not None and spec.input != main:
        problems.append(Problem("input", f"the main input is {main!r} but the spec names {spec.input!r}; "
                                         "make them agree", spec.input))
    if main not in inputs:
        known = ", ".join(inputs) or "(none)"
        problems.append(Problem("input", f"main input {main!r} is not among this step's inputs ({known}); "
                                         "add it to depends_on", main))
        return [], {}, problems
    schema = dict(inputs[main])
    plans: list[StepPlan] = []
    for index, op in enumerate(spec.steps):
        after = _plan_op(op, f"steps[{index}]", schema, inputs, problems)
        plans.append(StepPlan(index, op, schema, after))
        schema = after
    return plans, schema, problems


def _normalized(schema: lt.Schema, name: str, problems: list[Problem]) -> dict[str, str]:
    out: dict[str, str] = {}
    for column, type_ in schema.items():
        try:
            out[column] = lt.normalize_type(type_, path=f"inputs.{name}.{column}")
        except Exception as exc:
            problems.append(Problem(f"inputs.{name}.{column}", str(exc), type_))
            out[column] = lt.UNKNOWN
    return out


def _available(schema: Mapping[str, str]) -> str:
    return ", ".join(schema) or "(none)"


def _plan_op(op: TransformOp, path: str, schema: dict[str, str], inputs: Mapping[str, dict[str, str]],
             problems: list[Problem]) -> dict[str, str]:
    def missing(column: str, at: str) -> bool:
        if column in schema:
            return False
        problems.append(Problem(at, f"unknown column {column!r}; available: {_available(schema)}", column))
        return True

    if isinstance(op, SelectOp):
        seen: set[str] = set()
        for j, column in enumerate(op.columns):
            if column in seen:
                problems.append(Problem(f"{path}.columns[{j}]", f"column {column!r} is selected twice",
                                        column))
            seen.add(column)
            missing(column, f"{path}.columns[{j}]")
        return {c: schema[c] for c in dict.fromkeys(op.columns) if c in schema}
    if isinstance(op, RenameOp):
        return _plan_rename(op, path, schema, problems)
    if isinstance(op, CastOp):
        out = dict(schema)
        for column, target in op.columns.items():
            if missing(column, f"{path}.columns.{column}"):
                continue
            if conversion_rule(schema[column], target) == "refused":
                hint = refusal_hint(schema[column], target)
                problems.append(Problem(f"{path}.columns.{column}",
                                        f"cannot cast {schema[column]} to {target}: {hint}", target))
            out[column] = target
        return out
    if isinstance(op, FilterOp | DeriveOp):
        type_ = expression_type(op.expr, schema, f"{path}.expr", problems)
        if isinstance(op, FilterOp):
            if type_ not in (lt.BOOLEAN, lt.UNKNOWN):
                problems.append(Problem(f"{path}.expr", f"a filter needs a boolean expression, got {type_}; "
                                        "compare the value, e.g. amount > 0", op.expr))
            return dict(schema)
        return {**schema, op.column: type_}
    if isinstance(op, JoinOp):
        return _plan_join(op, path, schema, inputs, problems)
    if isinstance(op, DeduplicateOp):
        for j, key in enumerate(op.keys):
            missing(key, f"{path}.keys[{j}]")
        if op.order_by is not None and not missing(op.order_by, f"{path}.order_by") \
                and schema[op.order_by] == lt.JSONB:
            problems.append(Problem(f"{path}.order_by", "cannot order by a jsonb column", op.order_by))
        return dict(schema)
    return _plan_aggregate(op, path, schema, problems)


def expression_type(text: str, schema: Mapping[str, str], path: str, problems: list[Problem]) -> str:
    """Type-check ``text``; on error add a Problem at ``path`` and return ``unknown``."""
    try:
        return compile_expression(text, schema).type
    except ExpressionError as exc:
        problems.append(Problem(path, exc.short, text))
        return lt.UNKNOWN


def _plan_rename(op: RenameOp, path: str, schema: dict[str, str], problems: list[Problem]) -> dict[str, str]:
    renames = {old: new for old, new in op.mapping.items() if old in schema}
    for old in op.mapping:
        if old not in schema:
            problems.append(Problem(f"{path}.mapping.{old}", f"unknown column {old!r}; available: "
                                    f"{_available(schema)}", old))
    result_names = [renames.get(c, c) for c in schema]
    for old, new in renames.items():
        if result_names.count(new) > 1:
            problems.append(Problem(f"{path}.mapping.{old}", f"renaming {old!r} to {new!r} clashes with "
                                    "another column of that name; rename or drop that column first", new))
    return {renames.get(c, c): t for c, t in schema.items()}


def join_key_type(left: str, right: str) -> str | None:
    """The type both join keys are compared as, or None if they cannot be joined."""
    if left == right or lt.UNKNOWN in (left, right):
        return right if left == lt.UNKNOWN else left
    if lt.is_integer(left) and lt.is_integer(right):
        return lt.BIGINT
    if lt.is_number(left) and lt.is_number(right) and lt.DOUBLE not in (left, right):
        scales = [(lt.numeric_of(t) or (0, 0))[1] for t in (left, right)]
        return lt.numeric(lt.MAX_PRECISION, max(scales))
    if {left, right} <= {lt.TEXT, lt.JSONB}:
        return lt.TEXT
    return None


def join_right_columns(op: JoinOp, right: Mapping[str, str]) -> list[str]:
    """Right-side columns the join keeps (before prefixing)."""
    if op.how in ("semi", "anti"):
        return []
    if op.select is not None:
        return list(dict.fromkeys(op.select))
    keys = set(op.on.values())
    return [c for c in right if c not in keys]


def _plan_join(op: JoinOp, path: str, schema: dict[str, str], inputs: Mapping[str, dict[str, str]],
               problems: list[Problem]) -> dict[str, str]:
    if op.with_ not in inputs:
        problems.append(Problem(f"{path}.with", f"unknown input {op.with_!r}: this step's inputs are "
                                f"{', '.join(inputs) or '(none)'}; add it to depends_on", op.with_))
        return dict(schema)
    right = inputs[op.with_]
    for left_key, right_key in op.on.items():
        at = f"{path}.on.{left_key}"
        if left_key not in schema:
            problems.append(Problem(at, f"unknown left column {left_key!r}; available: {_available(schema)}",
                                    left_key))
        elif right_key not in right:
            problems.append(Problem(at, f"unknown column {right_key!r} in {op.with_!r}; available: "
                                    f"{_available(right)}", right_key))
        elif join_key_type(schema[left_key], right[right_key]) is None:
            problems.append(Problem(at, f"cannot join {schema[left_key]} {left_key!r} with "
                                    f"{right[right_key]} {right_key!r}; cast one side first (a cast step)",
                                    right_key))
    if op.how in ("semi", "anti") and (op.select is not None or op.prefix):
        problems.append(Problem(f"{path}.select", f"a {op.how} join keeps only the left columns; remove "
                                "select and prefix", op.select))
    out = dict(schema)
    for j, column in enumerate(join_right_columns(op, right)):
        if column not in right:
            problems.append(Problem(f"{path}.select[{j}]", f"unknown column {column!r} in {op.with_!r}; "
                                    f"available: {_available(right)}", column))
            continue
        name = op.prefix + column
        if name in out:
            problems.append(Problem(f"{path}.select[{j}]" if op.select else f"{path}.with",
                                    f"column {name!r} exists on both sides of the join; set a prefix or "
                                    "select fewer right-side columns", name))
            continue
        out[name] = right[column]
    return out


_AGG_NUMBERS = ("sum", "mean")


def aggregation_type(fn: str, source: str | None) -> str | None:
    """Output type of aggregation ``fn`` over a column of type ``source`` (None: not applicable)."""
    if fn in ("count", "count_distinct"):
        return lt.BIGINT
    assert source is not None
    if fn in _AGG_NUMBERS:
        if source == lt.UNKNOWN:
            return lt.UNKNOWN
        if not lt.is_number(source):
            return None
        if source == lt.DOUBLE or (fn == "mean" and lt.is_integer(source)):
            return lt.DOUBLE
        scale = (lt.numeric_of(source) or (0, 0))[1]
        if fn == "mean":
            return lt.numeric(lt.MAX_PRECISION, max(scale, 6))
        return lt.BIGINT if lt.is_integer(source) else lt.numeric(lt.MAX_PRECISION, scale)
    if fn in ("min", "max") and source == lt.JSONB:
        return None
    return source


def _plan_aggregate(op: AggregateOp, path: str, schema: dict[str, str],
                    problems: list[Problem]) -> dict[str, str]:
    out: dict[str, str] = {}
    for j, key in enumerate(op.group_by):
        if key not in schema:
            problems.append(Problem(f"{path}.group_by[{j}]", f"unknown column {key!r}; available: "
                                    f"{_available(schema)}", key))
        out[key] = schema.get(key, lt.UNKNOWN)
    for j, agg in enumerate(op.aggregations):
        at = f"{path}.aggregations[{j}]"
        if agg.column in out:
            problems.append(Problem(f"{at}.column", f"output column {agg.column!r} is already produced by "
                                    "this aggregate; choose another name", agg.column))
            continue
        source: str | None = None
        if agg.fn != "count" or agg.of is not None:
            if agg.of is None:
                problems.append(Problem(f"{at}.of", f"{agg.fn} needs `of`: the column to aggregate", None))
                out[agg.column] = lt.UNKNOWN
                continue
            if agg.of not in schema:
                problems.append(Problem(f"{at}.of", f"unknown column {agg.of!r}; available: "
                                        f"{_available(schema)}", agg.of))
                out[agg.column] = lt.UNKNOWN
                continue
            source = schema[agg.of]
        type_ = aggregation_type(agg.fn, source)
        if type_ is None:
            problems.append(Problem(f"{at}.fn", f"{agg.fn} does not apply to {source} column {agg.of!r}",
                                    agg.fn))
            type_ = lt.UNKNOWN
        out[agg.column] = type_
    return out
