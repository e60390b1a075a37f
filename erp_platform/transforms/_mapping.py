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
from erp_platform.transforms._names import allocate_columns, did_you_mean_field, listing
from erp_platform.transforms._spec import ColumnMapping, MappingSpec

RESERVED_PREFIX = "_erp_"
_HINT = ("fix the values in the ERP, map the field to a text column, or convert it in a transform step "
         "first (e.g. derive with if() or coalesce())")


def complete_mapping(mapping: MappingSpec, source_schema: lt.Schema) -> MappingSpec:
    """``mapping`` with every target and type filled in: a missing target is the snake_case of the source
    (unique within the mapping: explicit targets first, then defaults in order, see :func:`column_names`);
    a missing type is the source field's own type (``text`` for a field whose type is unknown or a source
    that is not in ``source_schema``, which :func:`check_mapping` reports)."""
    if mapping.complete:
        return mapping
    explicit = [c.target for c in mapping.columns if c.target is not None]
    defaults = iter(allocate_columns([c.source for c in mapping.columns if c.target is None], taken=explicit))
    columns: list[ColumnMapping] = []
    for column in mapping.columns:
        target = column.target if column.target is not None else next(defaults)
        type_ = column.type if column.type is not None else _source_type(source_schema.get(column.source))
        columns.append(column.model_copy(update={"target": target, "type": type_}))
    return MappingSpec(columns=columns)


def derive_mapping(source_schema: lt.Schema) -> MappingSpec:
    """A mapping of every field of ``source_schema``, in order: default targets (see
    :func:`complete_mapping`) and the fields' own types (``text`` where unknown)."""
    return complete_mapping(MappingSpec(columns=[ColumnMapping(source=name) for name in source_schema]),
                            source_schema)


def _source_type(logical: str | None) -> str:
    return logical if logical is not None and logical != lt.UNKNOWN else lt.TEXT


def check_mapping(mapping: MappingSpec, source_schema: lt.Schema) -> list[Problem]:
    """Every problem of ``mapping`` over records of ``source_schema`` (paths like ``columns[2].type``).

    A source that is not in the schema is reported with the fields that are (exact names, the closest
    first). Missing targets and types are checked as :func:`complete_mapping` fills them in.
    """
    problems: list[Problem] = []
    targets: dict[str, int] = {}
    fields = list(source_schema)
    completed = complete_mapping(mapping, source_schema)
    for i, (given, column) in enumerate(zip(mapping.columns, completed.columns, strict=True)):
        target, target_type = str(column.target), str(column.type)
        path = f"columns[{i}].target"
        if target in targets:
            first = targets[target]
            how = "" if given.target is not None else f" (the default for source {column.source!r})"
            problems.append(Problem(path, f"target column {target!r}{how} is mapped twice (also by "
                                    f"columns[{first}]); map it once", target))
        targets.setdefault(target, i)
        if target.startswith(RESERVED_PREFIX):
            problems.append(Problem(path, f"target column names starting with {RESERVED_PREFIX!r} are "
                                    "reserved for the platform; rename it", target))
        if column.source not in source_schema:
            problems.append(Problem(f"columns[{i}].source", unknown_field_message(column.source, fields),
                                    column.source))
            continue
        source_type = lt.normalize_type(source_schema[column.source], path=f"source.{column.source}")
        if conversion_rule(source_type, target_type) == "refused":
            hint = refusal_hint(source_type, target_type)
            problems.append(Problem(f"columns[{i}].type", f"cannot map {source_type} field "
                                    f"{column.source!r} to {target_type}: {hint}", target_type))
    return problems


def unknown_field_message(name: str, fields: list[str]) -> str:
    """``unknown source field ...`` with the input's fields (exact names, the closest first) and the fix."""
    if not fields:
        return f"unknown source field {name!r}: the input has no fields"
    return (f"unknown source field {name!r}{did_you_mean_field(name, fields)}; the input's fields (exact "
            f"names): {listing(name, fields)}; write the source exactly as listed")


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
            f"columns (exact names): {listing(missing[0], list(schema))}; fix the mapping's source or the "
            "extract's fields"
        )
    problems = check_mapping(mapping, schema)
    mapping = complete_mapping(mapping, schema)
    ValidationFailed.raise_if_any(f"{where}: the mapping does not fit the data", problems)
    lazy = encode_json_columns(lazy)
    outputs: list[pl.Expr] = []
    checks: list[Check] = []
    for i, column in enumerate(mapping.columns):
        source_type, target_type = schema[column.source], str(column.type)
        value = convert(pl.col(column.source), source_type, target_type)
        subject = f"column {column.source!r} (mapped to {column.target!r})"
        if conversion_rule(source_type, target_type) == "checked":
            checks.append(Check(subject, target_type, pl.col(column.source), value))
        if lt.dtype_of(target_type) == pl.String:  # Postgres text cannot hold NUL characters
            clean = pl.when(value.str.contains("\x00", literal=True)).then(None).otherwise(value)
            checks.append(Check(subject + " (NUL character)", target_type, value, clean))
            value = clean
        outputs.append(value.alias(f"__erp_out_{i}"))
    data = verify_conversions(lazy, checks, where=where, hint=_HINT, extra=outputs)
    result = data.select(pl.col(f"__erp_out_{i}").alias(str(c.target)) for i, c in enumerate(mapping.columns))
    required = [str(c.target) for c in mapping.columns if not c.nullable]
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
    """The target schema a complete mapping produces (target -> type), in order (see
    :func:`complete_mapping` for one whose targets or types are left to their defaults)."""
    if not mapping.complete:
        raise InvalidInputError("the mapping leaves targets or types to their defaults: complete it against "
                                "the input's fields first (complete_mapping)")
    return {str(c.target): str(c.type) for c in mapping.columns}
