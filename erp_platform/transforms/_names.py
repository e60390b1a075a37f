"""Field names as the ERP gives them, and the SQL column names derived from them.

Two kinds of names meet in a workflow:

* **Field names** (:data:`FieldName`) are the names of record fields and frame columns: exactly what the
  ERP sends (``ContactID``, ``lastModifiedDateTime``, ``@odata.etag``, ``Customer Name``). Mapping
  sources, transform column references, join keys, deduplicate keys and cursor fields take them as given.
* **SQL identifiers** (``Identifier`` in ``_spec``) name target tables and columns: strict lowercase,
  validated and quoted, never formatted into SQL.

:func:`column_name` turns a field name into its default target column, deterministically
(``ContactID`` -> ``contact_id``, ``@odata.etag`` -> ``odata_etag``); :func:`column_names` does it for a
list of fields and resolves collisions (``Name`` and ``name`` -> ``name``, ``name_2``).
:func:`expression_name` writes a field name the way the expression language reads it back.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Annotated

from pydantic import AfterValidator

#: Longest field name accepted (generous: ERP names are rarely longer than 100 characters).
MAX_FIELD_NAME = 255
#: Prefix of the columns the platform adds to frames while it works on them.
INTERNAL_PREFIX = "__erp_"
#: Prefixes no target column may start with (platform columns and Postgres system names).
RESERVED_COLUMN_PREFIXES = ("pg_", "_erp_")
#: Prefix of a derived column name that would otherwise start with a digit or a reserved prefix.
COLUMN_FALLBACK_PREFIX = "col_"
MAX_IDENTIFIER = 63

_CAMEL_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_CAMEL_2 = re.compile(r"([a-z0-9])([A-Z])")
_NON_WORD = re.compile(r"[^0-9A-Za-z]+")
_BARE = re.compile(r"[a-z_][a-z0-9_]*")
_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
                          "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "þ": "th", "Þ": "TH"})
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Words of the expression language: a field spelled like one must be quoted in expressions.
EXPRESSION_KEYWORDS = frozenset({"and", "or", "not", "in", "is", "null", "true", "false", "between", "as"})


def _check_field_name(value: str) -> str:
    if not value:
        raise ValueError("must not be empty: write the field name exactly as the ERP sends it")
    if len(value) > MAX_FIELD_NAME:
        raise ValueError(f"a field name has at most {MAX_FIELD_NAME} characters (this one has {len(value)})")
    bad = _CONTROL.search(value)
    if bad is not None:
        raise ValueError(
            f"contains the control character {bad.group()!r} at position {bad.start() + 1}: remove it"
        )
    if value.startswith(INTERNAL_PREFIX):
        raise ValueError(f"names starting with {INTERNAL_PREFIX!r} are used by the platform: choose another")
    return value


FieldName = Annotated[str, AfterValidator(_check_field_name)]
"""A record field or frame column name exactly as the ERP gives it (any characters but control ones)."""


def column_name(field: str) -> str:
    """The default target column of ``field``: lowercase snake_case, a valid, non-reserved SQL identifier.

    ``ContactID`` -> ``contact_id``, ``lastModifiedDateTime`` -> ``last_modified_date_time``,
    ``@odata.etag`` -> ``odata_etag``, ``UpdatedDateUTC`` -> ``updated_date_utc``, ``1099Box`` ->
    ``col_1099_box``, ``pg_size`` -> ``col_pg_size``, ``Straße`` -> ``strasse``, ``Größe`` -> ``grosse``
    (accents dropped); a name with no letters or digits becomes ``col``. At most 63 characters. Distinct
    fields may give the same name: :func:`column_names` resolves that.
    """
    text = unicodedata.normalize("NFKD", field.translate(_LETTERS)).encode("ascii", "ignore").decode("ascii")
    text = _CAMEL_2.sub(r"\1_\2", _CAMEL_1.sub(r"\1_\2", text))
    words = [w.lower() for w in _NON_WORD.split(text) if w]
    name = "_".join(words)
    if not name:
        return COLUMN_FALLBACK_PREFIX.rstrip("_")
    if name[0].isdigit() or name.startswith(RESERVED_COLUMN_PREFIXES):
        name = COLUMN_FALLBACK_PREFIX + name
    return name[:MAX_IDENTIFIER].rstrip("_")


def column_names(fields: Iterable[str], *, taken: Iterable[str] = ()) -> dict[str, str]:
    """Default target columns of ``fields`` (in order, each once), unique among themselves and ``taken``.

    The first field that yields a name keeps it; later ones get the first free ``_2``, ``_3`` ...
    (``Name``, ``name`` -> ``name``, ``name_2``), skipping names other fields yield on their own (with a
    field ``name_2`` as well, ``name`` becomes ``name_3``). The result depends only on the fields' order.
    """
    ordered = list(dict.fromkeys(fields))
    return dict(zip(ordered, allocate_columns(ordered, taken=taken), strict=True))


def allocate_columns(sources: Sequence[str], *, taken: Iterable[str] = ()) -> list[str]:
    """One default target column per entry of ``sources`` (a source may repeat), all distinct and not in
    ``taken``; see :func:`column_names` for the rule."""
    bases = [column_name(source) for source in sources]
    used = set(taken)
    out: list[str | None] = [None] * len(sources)
    for i, base in enumerate(bases):  # first pass: every free name goes to the first entry yielding it
        if base not in used:
            used.add(base)
            out[i] = base
    result: list[str] = []
    for i, base in enumerate(bases):  # second pass: the rest, numbered
        chosen = out[i]
        if chosen is None:
            n, chosen = 1, base
            while chosen in used:
                n += 1
                suffix = f"_{n}"
                chosen = base[: MAX_IDENTIFIER - len(suffix)] + suffix
            used.add(chosen)
        result.append(chosen)
    return result


def expression_name(field: str) -> str:
    """How to write ``field`` in an expression: bare when it is a plain lowercase name, else double-quoted
    (``amount``, ``"ContactID"``, ``"@odata.etag"``; a double quote inside is doubled)."""
    if _BARE.fullmatch(field) and field not in EXPRESSION_KEYWORDS:
        return field
    return '"' + field.replace('"', '""') + '"'


def closest_first(name: str, available: Sequence[str], *, limit: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``limit`` names of ``available`` close to ``name``, closest first (case is ignored, so
    ``contactid`` finds ``ContactID``)."""
    folded: dict[str, list[str]] = {}
    for candidate in available:
        folded.setdefault(candidate.casefold(), []).append(candidate)
    matches = difflib.get_close_matches(name.casefold(), list(folded), n=limit, cutoff=cutoff)
    return [original for match in matches for original in folded[match]][:limit]


def listing(name: str, available: Sequence[str], *, limit: int = 60) -> str:
    """``available`` as a comma-separated list of exact names, the closest to ``name`` first."""
    if not available:
        return "(none)"
    close = closest_first(name, available, limit=1)
    ordered = close + [a for a in available if a not in close]
    shown = ", ".join(ordered[:limit])
    return shown + (f", ... ({len(ordered) - limit} more)" if len(ordered) > limit else "")


def did_you_mean_field(name: str, available: Sequence[str]) -> str:
    """``" (did you mean 'ContactID'?)"`` when a field is close to ``name``, else an empty string."""
    close = closest_first(name, available, limit=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""
