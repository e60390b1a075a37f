"""Column types shared by transforms (casts), mappings and loads (Postgres columns)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

# Postgres type names the platform creates columns with. numeric takes (precision, scale).
_TYPE_RE = re.compile(
    r"^(text|bigint|integer|double precision|boolean|date|timestamptz|jsonb|numeric\((\d{1,2}),(\d{1,2})\))$"
)
COLUMN_TYPES_HELP = (
    "text, bigint, integer, double precision, boolean, date, timestamptz, jsonb or numeric(P,S)"
)


def _check_type(value: str) -> str:
    normal = re.sub(r"\s+", " ", value.strip().lower()).replace(", ", ",")
    if normal == "double":
        normal = "double precision"
    match = _TYPE_RE.match(normal)
    if match is None:
        raise ValueError(f"unknown column type {value!r}: use {COLUMN_TYPES_HELP}")
    if match.group(2) is not None:
        precision, scale = int(match.group(2)), int(match.group(3))
        if not 1 <= precision <= 38 or scale > precision:
            raise ValueError(f"numeric({precision},{scale}) is invalid: need 1 <= P <= 38 and 0 <= S <= P")
    return normal


ColumnType = Annotated[str, AfterValidator(_check_type)]
"""A Postgres column type name, normalised (e.g. ``"numeric(12,2)"``, ``"timestamptz"``)."""
