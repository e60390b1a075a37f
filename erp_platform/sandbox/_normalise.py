"""FieldKind normalisation of host-held records (runs on every row of every page: keep it lean).

Dates become ISO 8601: ``DATETIME`` values (ISO 8601 with any offset, ``Z``, naive = UTC, or OData
``/Date(ms)/`` / ``/Date(ms+0100)/``) become UTC ``2019-03-11T17:53:36.230000+00:00``; ``DATE`` values
become ``2019-03-11``. Numbers in strings become numbers; ``DECIMAL`` values stay strings of exact digits
(numbers become their repr; strings are kept as sent, the loader casts and checks them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from erp_platform.sandbox._errors import CallContext, NormalisationError
from erp_platform.sandbox._protocol import FieldKind

_EPOCH_DATE = date(1970, 1, 1)
_TWO_DIGITS = tuple(f"{i:02d}" for i in range(60))
_FRACTIONS = ("", *(f".{i:03d}000" for i in range(1, 1000)))
_DAY_CACHE: dict[int, str] = {}  # days since 1970 -> "YYYY-MM-DD" (a pure memo, bounded)
_DAY_CACHE_MAX = 50_000
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})

Converter = Callable[[Any], Any]


def _dotnet_ms(value: str) -> int:
    """Milliseconds of an OData ``/Date(ms)/`` or ``/Date(ms+hhmm)/`` value (the offset is informative)."""
    if value[-2:] != ")/":
        raise ValueError("not an OData /Date(ms)/ value")
    inner = value[6:-2]
    if 0 < len(inner) <= 15 and inner.isdigit() and inner.isascii():
        return int(inner)
    if len(inner) > 5 and inner[-5] in "+-":
        offset, inner = inner[-4:], inner[:-5]
        if not (offset.isdigit() and offset.isascii()):
            raise ValueError("not an OData /Date(ms)/ value")
    digits = inner[1:] if inner[:1] == "-" else inner
    if not (0 < len(digits) <= 15 and digits.isdigit() and digits.isascii()):
        raise ValueError("not an OData /Date(ms)/ value")
    return int(inner)


def _day(days: int) -> str:
    text = _DAY_CACHE.get(days)
    if text is None:
        if len(_DAY_CACHE) >= _DAY_CACHE_MAX:
            _DAY_CACHE.clear()
        text = _DAY_CACHE[days] = (_EPOCH_DATE + timedelta(days=days)).isoformat()
    return text


def _ms_to_iso(ms: int) -> str:
    """``datetime.isoformat()`` of a UTC instant given in milliseconds since 1970, without datetimes."""
    days, rest = divmod(ms, 86_400_000)
    seconds, millis = divmod(rest, 1000)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return (
        f"{_day(days)}T{_TWO_DIGITS[hours]}:{_TWO_DIGITS[minutes]}:{_TWO_DIGITS[seconds]}"
        f"{_FRACTIONS[millis]}+00:00"
    )


def _iso_utc(value: str) -> str:
    parsed = datetime.fromisoformat(value)
    offset = parsed.utcoffset()
    if offset is None:
        parsed = parsed.replace(tzinfo=UTC)
    elif offset:
        parsed = parsed.astimezone(UTC)
    elif parsed.tzinfo is not UTC:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.isoformat()


def to_datetime(value: Any) -> str:
    """Normalise one DATETIME value to ISO 8601 UTC (``datetime.isoformat()`` of the UTC instant)."""
    if type(value) is not str:
        raise TypeError("expected an ISO 8601 string or /Date(ms)/")
    if value[:6] == "/Date(":
        return _ms_to_iso(_dotnet_ms(value))
    # Fast paths for the usual UTC spellings; each returns exactly what _iso_utc would.
    size = len(value)
    if size >= 20 and value[10] == "T" and value[19:20] in ("Z", ".", "+"):
        if size == 20 and value[19] == "Z":
            datetime.fromisoformat(value[:19])
            return value[:19] + "+00:00"
        if size == 25 and value[19:] == "+00:00":
            datetime.fromisoformat(value[:19])
            return value
        if value[19] == "." and (
            (size == 24 and value[23] == "Z") or (size == 27 and value[26] == "Z")
        ):
            fraction = value[20 : size - 1]
            datetime.fromisoformat(value[: size - 1])
            if fraction.strip("0") == "":
                return value[:19] + "+00:00"
            return f"{value[:20]}{fraction:0<6}+00:00"
    return _iso_utc(value)


def to_date(value: Any) -> str:
    """Normalise one DATE value to ``YYYY-MM-DD`` (a datetime keeps its date as written)."""
    if type(value) is not str:
        raise TypeError("expected an ISO 8601 date string or /Date(ms)/")
    if value[:6] == "/Date(":
        return _day(_dotnet_ms(value) // 86_400_000)
    if len(value) == 10 and value[4] == "-":
        date.fromisoformat(value)
        return value
    return datetime.fromisoformat(value).date().isoformat()


def to_integer(value: Any) -> int:
    """Normalise one INTEGER value (numbers, numeric strings, integral floats)."""
    kind = type(value)
    if kind is int:
        return int(value)
    if kind is float:
        if not value.is_integer():
            raise ValueError("has a fractional part")
        return int(value)
    if kind is str:
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            number = float(text)
            if not number.is_integer():
                raise ValueError("has a fractional part") from None
            return int(number)
    if kind is bool:
        return int(value)
    raise TypeError("expected an integer")


def to_number(value: Any) -> float:
    """Normalise one NUMBER value to a float."""
    kind = type(value)
    if kind is float or kind is int or kind is str:
        return float(value)
    raise TypeError("expected a number")


def to_decimal(value: Any) -> str:
    """Normalise one DECIMAL value to a string of digits (exact; the loader casts it).

    ``normalise_records`` keeps strings as sent without calling this (it runs on millions of rows).
    """
    kind = type(value)
    if kind is str:
        text: str = value.strip()
        float(text)  # validates the digits; the string is kept as is
        return text
    if kind is int or kind is float:
        return repr(value)
    raise TypeError("expected a decimal number")


def to_boolean(value: Any) -> bool:
    """Normalise one BOOLEAN value (true/false, 1/0, yes/no)."""
    kind = type(value)
    if kind is bool:
        return bool(value)
    if kind is str:
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError("is not a boolean word")
    if kind is int and value in (0, 1):
        return bool(value)
    raise TypeError("expected a boolean")


def to_string(value: Any) -> str:
    """Normalise one STRING value (numbers and booleans become their JSON text)."""
    kind = type(value)
    if kind is str:
        return str(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return repr(value)
    return orjson.dumps(value).decode("utf-8")


CONVERTERS: dict[FieldKind, Converter] = {
    FieldKind.STRING: to_string,
    FieldKind.INTEGER: to_integer,
    FieldKind.NUMBER: to_number,
    FieldKind.DECIMAL: to_decimal,
    FieldKind.BOOLEAN: to_boolean,
    FieldKind.DATE: to_date,
    FieldKind.DATETIME: to_datetime,
}

# Values of exactly this type are already normal and are left untouched (no call per value).
_ALREADY_NORMAL: dict[FieldKind, type | None] = {
    FieldKind.STRING: str,
    FieldKind.INTEGER: int,
    FieldKind.NUMBER: float,
    FieldKind.DECIMAL: str,
    FieldKind.BOOLEAN: bool,
    FieldKind.DATE: None,
    FieldKind.DATETIME: None,
}


def normalise_records(
    records: list[dict[str, Any]],
    fields: Mapping[str, FieldKind],
    *,
    context: CallContext | None = None,
) -> list[dict[str, Any]]:
    """Normalise ``records`` in place by field kind and return them; fields not listed are kept as is.

    Works column by column: a value whose type is already the kind's type (a ``str`` for STRING and
    DECIMAL, an ``int`` for INTEGER, ...) is left as it is; dates are always rewritten.

    Raises:
        NormalisationError: a record is not an object, or a value does not fit its kind (names the
            record index, field, kind and value).
    """
    for index, record in enumerate(records):
        if type(record) is not dict:
            raise _not_object(index, record, context)
    for name, kind in fields.items():
        convert = CONVERTERS.get(kind)
        if convert is None:
            continue
        normal = _ALREADY_NORMAL[kind]
        try:
            if normal is None:
                for record in records:
                    value = record.get(name)
                    if value is not None:
                        record[name] = convert(value)
            else:
                for record in records:
                    value = record.get(name)
                    if value is not None and type(value) is not normal:
                        record[name] = convert(value)
        except (ValueError, TypeError, OverflowError):
            raise _locate(records, name, kind, convert, context) from None
    return records


def _locate(
    records: list[dict[str, Any]],
    name: str,
    kind: FieldKind,
    convert: Converter,
    context: CallContext | None,
) -> NormalisationError:
    """Find the first record whose ``name`` does not convert (converters are idempotent)."""
    for index, record in enumerate(records):
        value = record.get(name)
        if value is None:
            continue
        try:
            convert(value)
        except (ValueError, TypeError, OverflowError) as exc:
            return NormalisationError(
                f"record {index}, field {name!r}: value {_short(value)} is not a valid {kind.value} ({exc}); "
                "fix the SDK's field kind or the ERP data",
                context=context,
            )
    return NormalisationError(f"field {name!r}: a value is not a valid {kind.value}", context=context)


def _not_object(index: int, record: object, context: CallContext | None) -> NormalisationError:
    return NormalisationError(
        f"record {index} is {type(record).__name__} {_short(record)}, not a JSON object; check the SDK's "
        "record path",
        context=context,
    )


def _short(value: object, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
