"""Transforms: a small safe expression language, declarative transform steps in polars, and mappings.

Expressions (filters, derived columns) are parsed by a hand-written parser into an AST and compiled to
polars expressions; nothing is evaluated as Python. See ``_expr_compile`` for the semantics and
``_mapping`` for the type rule of mappings.

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
from erp_platform.transforms._mapping import apply_mapping, check_mapping, mapped_schema
from erp_platform.transforms._plan import transform_schema
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
    "compile_expression",
    "conversion_rule",
    "dtype_of",
    "frame_from_records",
    "infer_type",
    "logical_type_of",
    "mapped_schema",
    "normalize_type",
    "parse_expression",
    "schema_from_fields",
    "schema_of_frame",
    "transform_schema",
]
