"""Mappings: ERP fields -> target columns of a load, cast to the columns' types.

The type rule (:func:`check_mapping` reports what is refused before anything runs):

* a field may map to a column of its own type or a wider one (``integer`` -> ``bigint``,
  ``numeric(12,2)`` -> ``numeric(18,4)``, ``date`` -> ``timestamptz``), and anything may map to ``text``;
* a *checked* conversion is allowed and verified value by value at load time: text parsed as a number,
  boolean (``true/false/t/f/yes/no/y/n/on/off/1/0``), date, ISO 8601 timestamp or JSON; ``bigint`` ->
  ``integer`` (range); ``double precision`` or ``numeric`` -> an integer type (integral values only);
  a narrower ``numeric`` (rounded half away from zero to the scale; too many digits fail);
  ``bigint``/``integer`` -> ``boolean`` (0 or 1). One value that does not convert fails the load with
  the column, the type, sample bad values and their rows: never a silent null;
* anything else is *refused*: e.g. a decimal field mapped to ``boolean``, a date to a number,
  ``jsonb`` to anything but ``text``/``jsonb``.
"""

from __future__ import annotations

import polars as pl

from erp_platform._errors import InvalidInputError, Problem, ValidationFailed
from erp_platform.transforms import _logical as lt
from erp_platform.transforms._convert import (
    Check,
    conversion_rule,
    convert,
    encode_json_columns,
    refusal_hint,
    verify_conversions,
)
from erp_platform.transforms._errors import SAMPLE_SIZE
from erp_platform.transforms._spec import MappingSpec

RESERVED_PREFIX = "_erp_"
_HINT = ("fix the values in the ERP, map the field to a text column, or convert it in a transform step "
         "first (e.g. derive with if() or coalesce())")


def check_mapping(mapping: MappingSpec, source_schema: lt.Schema) -> list[Problem]:
    """Every problem of ``mapping`` over records of ``source_schema`` (paths like ``columns[2].type``)."""
    problems: list[Problem] = []
    targets: dict[str, int] = {}
    available = ", ".join(source_schema) or "(none)"
    for i, column in enumerate(mapping.columns):
        if column.target in targets:
            first = targets[column.target]
            problems.append(Problem(f"columns[{i}].target", f"target column {column.target!r} is mapped "
                                    f"twice (also by columns[{first}]); map it once", column.target))
        targets.setdefault(column.target, i)
        if column.target.startswith(RESERVED_PREFIX):
            problems.append(Problem(f"columns[{i}].target", f"target column names starting with "
                                    f"{RESERVED_PREFIX!r} are reserved for the platform; rename it",
                                    column.target))
        if column.source not in source_schema:
            problems.append(Problem(f"columns[{i}].source", f"unknown source field {column.source!r}; "
                                    f"available: {available}", column.source))
            continue
        source_type = lt.normalize_type(source_schema[column.source], path=f"source.{column.source}")
        if conversion_rule(source_type, column.type) == "refused":
            hint = refusal_hint(source_type, column.type)
            problems.append(Problem(f"columns[{i}].type", f"cannot map {source_type} field "
                                    f"{column.source!r} to {column.type}: {hint}", column.type))
    return problems


def apply_mapping(frame: pl.DataFrame | pl.LazyFrame, mapping: MappingSpec, *,
                  where: str = "mapping") -> pl.DataFrame:
    """Select the mapping's source columns, rename them to their targets and cast them to the targets'
    types, verifying every checked conversion (see the module docs).

    Args:
        frame: the records (one column per field).
        mapping: the columns to produce, in order.
        where: context for error messages (e.g. ``load orders_sync.load_orders``).

    Returns:
        A frame with exactly the target columns, in mapping order, as their types' polars dtypes.

    Raises:
        InvalidInputError: a source column is missing from the data (lists the available columns), or a
            column declared ``nullable: false`` has nulls.
        ValidationFailed: a refused conversion (see :func:`check_mapping`).
        ConversionError: values that cannot be converted (column, type, samples and rows).
    """
    lazy = frame.lazy()
    schema = lt.schema_of_frame(lazy)
    missing = [c.source for c in mapping.columns if c.source not in schema]
    if missing:
        names = ", ".join(repr(m) for m in dict.fromkeys(missing))
        raise InvalidInputError(
            f"{where}: source column{'s' if len(missing) > 1 else ''} {names} not in the data; available "
            f"columns: {', '.join(schema) or '(none)'}; fix the mapping's source or the extract's fields"
        )
    problems = check_mapping(mapping, schema)
    ValidationFailed.raise_if_any(f"{where}: the mapping does not fit the data", problems)
    lazy = encode_json_columns(lazy)
    outputs: list[pl.Expr] = []
    checks: list[Check] = []
    for i, column in enumerate(mapping.columns):
        source_type = schema[column.source]
        value = convert(pl.col(column.source), source_type, column.type)
        subject = f"column {column.source!r} (mapped to {column.target!r})"
        if conversion_rule(source_type, column.type) == "checked":
            checks.append(Check(subject, column.type, pl.col(column.source), value))
        if lt.dtype_of(column.type) == pl.String:  # Postgres text cannot hold NUL characters
            clean = pl.when(value.str.contains("\x00", literal=True)).then(None).otherwise(value)
            checks.append(Check(subject + " (NUL character)", column.type, value, clean))
            value = clean
        outputs.append(value.alias(f"__erp_out_{i}"))
    data = verify_conversions(lazy, checks, where=where, hint=_HINT, extra=outputs)
    result = data.select(pl.col(f"__erp_out_{i}").alias(c.target) for i, c in enumerate(mapping.columns))
    required = [c.target for c in mapping.columns if not c.nullable]
    require_values(result, required, where=where, why="is declared nullable: false")
    return result


def require_values(frame: pl.DataFrame, columns: list[str], *, where: str, why: str) -> None:
    """Raise InvalidInputError naming the first of ``columns`` that has nulls, with sample rows."""
    for column in columns:
        nulls = frame.select(pl.col(column).is_null().arg_true()).to_series()
        if nulls.len():
            rows = ", ".join(str(r) for r in nulls.head(SAMPLE_SIZE).to_list())
            raise InvalidInputError(
                f"{where}: column {column!r} {why} but {nulls.len()} of {frame.height} rows have no value "
                f"(rows {rows}; counted from 0); fill it upstream (e.g. derive with coalesce()) or filter "
                "those rows out"
            )


def mapped_schema(mapping: MappingSpec) -> dict[str, str]:
    """The target schema a mapping produces (target -> type), in order."""
    return {c.target: c.type for c in mapping.columns}
