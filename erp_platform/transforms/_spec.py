"""The declarative transform spec: an ordered list of operations executed with polars.

Column names in transform steps and mapping sources are field names exactly as the ERP gives them
(:data:`FieldName`: ``ContactID``, ``@odata.etag``); target tables and columns are SQL identifiers
(:data:`Identifier`: strict lowercase). Expressions (``filter.expr``, ``derive.expr``) use the platform's
small safe expression language (see ``erp_platform.transforms`` docs), where a field name that is not a
plain lowercase word is written in double quotes (``"ContactID"``) or as ``field('@odata.etag')``; they are
parsed, never evaluated as Python.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from erp_platform.transforms._names import FieldName
from erp_platform.transforms._types import ColumnType

RESERVED_PREFIXES = ("pg_", "_erp_")


def _not_reserved(value: str) -> str:
    if value.startswith(RESERVED_PREFIXES):
        raise ValueError(
            f"{value!r} starts with a reserved prefix ({' or '.join(RESERVED_PREFIXES)}): choose another name"
        )
    return value


Identifier = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,62}$"), AfterValidator(_not_reserved)]


class _Op(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SelectOp(_Op):
    """Keep only these columns, in this order."""

    op: Literal["select"]
    columns: list[FieldName] = Field(min_length=1)


class RenameOp(_Op):
    """Rename columns: ``{old: new}`` (e.g. ``{ContactID: contact_id}``)."""

    op: Literal["rename"]
    mapping: dict[FieldName, FieldName] = Field(min_length=1)


class CastOp(_Op):
    """Cast columns to column types: ``{column: type}``."""

    op: Literal["cast"]
    columns: dict[FieldName, ColumnType] = Field(min_length=1)


class FilterOp(_Op):
    """Keep rows where ``expr`` is true (e.g. ``status != 'cancelled' and amount > 0``)."""

    op: Literal["filter"]
    expr: str = Field(min_length=1, max_length=2000)


class DeriveOp(_Op):
    """Add or replace ``column`` with the value of ``expr`` (e.g. ``round(amount * 1.19, 2)``)."""

    op: Literal["derive"]
    column: FieldName
    expr: str = Field(min_length=1, max_length=2000)


class JoinOp(_Op):
    """Join with another activity's output (an upstream dependency of this step)."""

    op: Literal["join"]
    with_: Identifier = Field(alias="with", description="activity id whose output to join")
    on: dict[FieldName, FieldName] = Field(min_length=1, description="{left column: right column}")
    how: Literal["inner", "left", "semi", "anti"] = "inner"
    select: list[FieldName] | None = Field(None, description="right-side columns to keep (default: all)")
    prefix: str = Field("", pattern=r"^[a-z0-9_]{0,20}$", description="prefix for kept right-side columns")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class DeduplicateOp(_Op):
    """Keep one row per key: the last (or first) by ``order_by`` (or by input order)."""

    op: Literal["deduplicate"]
    keys: list[FieldName] = Field(min_length=1)
    order_by: FieldName | None = None
    keep: Literal["first", "last"] = "last"


class Aggregation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    column: FieldName = Field(description="output column")
    fn: Literal["sum", "count", "min", "max", "mean", "first", "last", "count_distinct"]
    of: FieldName | None = Field(None, description="input column (not needed for count)")


class AggregateOp(_Op):
    """Group by columns and compute aggregations."""

    op: Literal["aggregate"]
    group_by: list[FieldName] = Field(min_length=1)
    aggregations: list[Aggregation] = Field(min_length=1)


TransformOp = Annotated[
    SelectOp | RenameOp | CastOp | FilterOp | DeriveOp | JoinOp | DeduplicateOp | AggregateOp,
    Field(discriminator="op"),
]


class TransformSpec(BaseModel):
    """Config of a ``transform`` activity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    input: Identifier | None = Field(
        None, description="main input activity (default: the step's first dependency)"
    )
    steps: list[TransformOp] = Field(default_factory=list)


class ColumnMapping(BaseModel):
    """One target column of a load: from a source field, cast to a column type.

    ``target`` defaults to the snake_case of the source (``ContactID`` -> ``contact_id``, made unique
    within the mapping) and ``type`` to the source field's own type; :func:`complete_mapping` fills both in.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: FieldName = Field(description="field of the input records, exactly as named there")
    target: Identifier | None = Field(None, description="target column (default: snake_case of source)")
    type: ColumnType | None = Field(None, description="column type (default: the source field's type)")
    nullable: bool = True


class MappingSpec(BaseModel):
    """Maps an ERP entity's fields to a target table's columns (stored as a versioned mapping config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: list[ColumnMapping] = Field(min_length=1)

    @property
    def complete(self) -> bool:
        """True when every column names its target and type (what a load needs)."""
        return all(c.target is not None and c.type is not None for c in self.columns)
