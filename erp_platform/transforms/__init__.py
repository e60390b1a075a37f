"""Transforms: a small safe expression language, declarative transform steps in polars, and mappings.

Expressions (filters, derived columns) are parsed by a hand-written parser into an AST and compiled to
polars expressions; nothing is evaluated as Python. See ``_expr_compile`` for the semantics and
``_mapping`` for the type rule of mappings.

Names: record fields keep the ERP's names (:data:`FieldName`: ``ContactID``, ``@odata.etag``) everywhere
a column is referenced; in expressions a name that is not a plain lowercase word is written
``"ContactID"`` or ``field('@odata.etag')`` (a bare ``ContactID`` works too when no other column differs
from it only in case). Target columns are lowercase SQL identifiers; :func:`column_name` derives the
default one (``ContactID`` -> ``contact_id``).

Example::

    out = apply_transform(spec, {"orders": orders, "customers": customers}, main="orders", ctx=ctx)
    schema, problems = transform_schema(spec, {"orders": schema_from_fields(fields)}, main="orders")
"""

from erp_platform.transforms._context import ExecutionContext
from erp_platform.transforms._convert import conversion_rule
from erp_platform.transforms._errors import ConversionError, ExpressionError
from erp_platform.transforms._executor import apply_transform
from erp_platform.transforms._expr_compile import CompiledExpression, compile_expression, infer_type
from erp_platform.transforms._expr_parser import MAX_DEPTH, MAX_LENGTH, parse_expression
from erp_platform.transforms._logical import (
    DECIMAL_DEFAULT,
    FIELD_KIND_TYPES,
    UNKNOWN,
    Schema,
    dtype_of,
    logical_type_of,
    normalize_type,
    schema_from_fields,
    schema_of_frame,
)
from erp_platform.transforms._mapping import (
    apply_mapping,
    check_mapping,
    complete_mapping,
    derive_mapping,
    mapped_schema,
)
from erp_platform.transforms._names import FieldName, column_name, column_names, expression_name
from erp_platform.transforms._plan import transform_key, transform_schema
from erp_platform.transforms._records import frame_from_records
from erp_platform.transforms._spec import (
    AggregateOp,
    Aggregation,
    CastOp,
    ColumnMapping,
    DeduplicateOp,
    DeriveOp,
    FilterOp,
    JoinOp,
    MappingSpec,
    RenameOp,
    SelectOp,
    TransformOp,
    TransformSpec,
)
from erp_platform.transforms._types import COLUMN_TYPES_HELP, ColumnType

__all__ = [
    "COLUMN_TYPES_HELP",
    "DECIMAL_DEFAULT",
    "FIELD_KIND_TYPES",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "UNKNOWN",
    "AggregateOp",
    "Aggregation",
    "CastOp",
    "ColumnMapping",
    "ColumnType",
    "CompiledExpression",
    "ConversionError",
    "DeduplicateOp",
    "DeriveOp",
    "ExecutionContext",
    "ExpressionError",
    "FieldName",
    "FilterOp",
    "JoinOp",
    "MappingSpec",
    "RenameOp",
    "Schema",
    "SelectOp",
    "TransformOp",
    "TransformSpec",
    "apply_mapping",
    "apply_transform",
    "check_mapping",
    "column_name",
    "column_names",
    "compile_expression",
    "complete_mapping",
    "conversion_rule",
    "derive_mapping",
    "dtype_of",
    "expression_name",
    "frame_from_records",
    "infer_type",
    "logical_type_of",
    "mapped_schema",
    "normalize_type",
    "parse_expression",
    "schema_from_fields",
    "schema_of_frame",
    "transform_key",
    "transform_schema",
]
