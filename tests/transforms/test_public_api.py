"""The exported names of the transforms package are pinned."""

from __future__ import annotations

import erp_platform.transforms as transforms


def test_transforms_exports() -> None:
    assert sorted(transforms.__all__) == sorted([
        "COLUMN_TYPES_HELP", "DECIMAL_DEFAULT", "FIELD_KIND_TYPES", "MAX_DEPTH", "MAX_LENGTH", "UNKNOWN",
        "AggregateOp", "Aggregation", "CastOp", "ColumnMapping", "ColumnType", "CompiledExpression",
        "ConversionError", "DeduplicateOp", "DeriveOp", "ExecutionContext", "ExpressionError", "FieldName",
        "FilterOp",
        "JoinOp", "MappingSpec", "RenameOp", "Schema", "SelectOp", "TransformOp", "TransformSpec",
        "apply_mapping", "apply_transform", "check_mapping", "column_name", "column_names",
        "compile_expression", "complete_mapping", "conversion_rule", "derive_mapping", "dtype_of",
        "expression_name", "frame_from_records", "infer_type", "logical_type_of", "mapped_schema", "normalize_type",
        "parse_expression", "schema_from_fields", "schema_of_frame", "transform_key", "transform_schema",
    ])
    assert all(hasattr(transforms, name) for name in transforms.__all__)
