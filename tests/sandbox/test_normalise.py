"""FieldKind normalisation of host-held records: one table per kind, and the refusals."""

from __future__ import annotations

from typing import Any

import pytest

from erp_platform.sandbox import CallContext, FieldKind, NormalisationError, normalise_records

CTX = CallContext("acme", "test-erp", 3, "list_customers")


def one(kind: FieldKind, value: Any) -> Any:
    return normalise_records([{"f": value}], {"f": kind})[0]["f"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/Date(1552326816230)/", "2019-03-11T17:53:36.230000+00:00"),
        ("/Date(1552326816230+0100)/", "2019-03-11T17:53:36.230000+00:00"),
        ("/Date(-86400000)/", "1969-12-31T00:00:00+00:00"),
        ("/Date(0)/", "1970-01-01T00:00:00+00:00"),
        ("2019-03-11T17:53:36.230Z", "2019-03-11T17:53:36.230000+00:00"),
        ("2019-03-11T17:53:36Z", "2019-03-11T17:53:36+00:00"),
        ("2019-03-11T19:53:36.23+02:00", "2019-03-11T17:53:36.230000+00:00"),
        ("2019-03-11T12:53:36-05:00", "2019-03-11T17:53:36+00:00"),
        ("2019-03-11T17:53:36", "2019-03-11T17:53:36+00:00"),
        ("2019-03-11 17:53:36", "2019-03-11T17:53:36+00:00"),
        ("2019-03-11T17:53:36.1234567Z", "2019-03-11T17:53:36.123456+00:00"),
        ("2019-03-11", "2019-03-11T00:00:00+00:00"),
        ("2019-03-11T17:53:36+00:00", "2019-03-11T17:53:36+00:00"),
        (None, None),
    ],
)
def test_datetime(value: Any, expected: Any) -> None:
    assert one(FieldKind.DATETIME, value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01", "2024-03-01"),
        ("/Date(1709251200000)/", "2024-03-01"),
        ("/Date(1709251200000+0000)/", "2024-03-01"),
        ("2024-03-01T23:30:00+02:00", "2024-03-01"),
        ("2024-03-01T00:00:00Z", "2024-03-01"),
    ],
)
def test_date(value: Any, expected: Any) -> None:
    assert one(FieldKind.DATE, value) == expected


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (FieldKind.INTEGER, 42, 42),
        (FieldKind.INTEGER, "42", 42),
        (FieldKind.INTEGER, " -7 ", -7),
        (FieldKind.INTEGER, 42.0, 42),
        (FieldKind.INTEGER, "42.0", 42),
        (FieldKind.INTEGER, True, 1),
        (FieldKind.NUMBER, 1, 1.0),
        (FieldKind.NUMBER, 2.5, 2.5),
        (FieldKind.NUMBER, "2.5", 2.5),
        (FieldKind.DECIMAL, "1234.50", "1234.50"),
        (FieldKind.DECIMAL, 12.1, "12.1"),
        (FieldKind.DECIMAL, 7, "7"),
        (FieldKind.BOOLEAN, True, True),
        (FieldKind.BOOLEAN, "false", False),
        (FieldKind.BOOLEAN, "Yes", True),
        (FieldKind.BOOLEAN, 0, False),
        (FieldKind.STRING, "abc", "abc"),
        (FieldKind.STRING, 17, "17"),
        (FieldKind.STRING, 1.5, "1.5"),
        (FieldKind.STRING, True, "true"),
        (FieldKind.STRING, {"a": 1}, '{"a":1}'),
        (FieldKind.JSON, {"a": [1, 2]}, {"a": [1, 2]}),
        (FieldKind.JSON, "as is", "as is"),
    ],
)
def test_scalar_kinds(kind: FieldKind, value: Any, expected: Any) -> None:
    result = one(kind, value)
    assert result == expected
    assert type(result) is type(expected)


def test_unlisted_fields_are_kept_and_records_are_normalised_in_place() -> None:
    records = [{"id": "1", "extra": {"x": 1}}, {"id": 2, "extra": None}]
    out = normalise_records(records, {"id": FieldKind.INTEGER})
    assert out is records
    assert out == [{"id": 1, "extra": {"x": 1}}, {"id": 2, "extra": None}]


def test_missing_fields_stay_missing() -> None:
    assert normalise_records([{"a": 1}], {"b": FieldKind.DATETIME}) == [{"a": 1}]


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        (
            FieldKind.DATETIME,
            "yesterday",
            "tenant 'acme', SDK 'test-erp' v3, operation 'list_customers': record 1, field 'f': value "
            "'yesterday' is not a valid datetime (Invalid isoformat string: 'yesterday'); fix the SDK's "
            "field kind or the ERP data",
        ),
        (
            FieldKind.DATETIME,
            "/Date(abc)/",
            "tenant 'acme', SDK 'test-erp' v3, operation 'list_customers': record 1, field 'f': value "
            "'/Date(abc)/' is not a valid datetime (not an OData /Date(ms)/ value); fix the SDK's field "
            "kind or the ERP data",
        ),
        (
            FieldKind.INTEGER,
            "4.5",
            "tenant 'acme', SDK 'test-erp' v3, operation 'list_customers': record 1, field 'f': value "
            "'4.5' is not a valid integer (has a fractional part); fix the SDK's field kind or the ERP data",
        ),
        (
            FieldKind.BOOLEAN,
            "maybe",
            "tenant 'acme', SDK 'test-erp' v3, operation 'list_customers': record 1, field 'f': value "
            "'maybe' is not a valid boolean (is not a boolean word); fix the SDK's field kind or the ERP "
            "data",
        ),
        (
            FieldKind.NUMBER,
            [1],
            "tenant 'acme', SDK 'test-erp' v3, operation 'list_customers': record 1, field 'f': value "
            "[1] is not a valid number (expected a number); fix the SDK's field kind or the ERP data",
        ),
    ],
)
def test_values_that_do_not_fit_their_kind(kind: FieldKind, value: Any, message: str) -> None:
    with pytest.raises(NormalisationError) as caught:
        normalise_records([{"f": None}, {"f": value}], {"f": kind}, context=CTX)
    assert str(caught.value) == message


def test_records_must_be_objects() -> None:
    with pytest.raises(NormalisationError) as caught:
        normalise_records([{"a": 1}, 7], {}, context=CTX)  # type: ignore[list-item]
    assert str(caught.value) == (
        "tenant 'acme', SDK 'test-erp' v3, operation 'list_customers': record 1 is int 7, not a JSON "
        "object; check the SDK's record path"
    )


def test_fast_datetime_paths_agree_with_the_general_one() -> None:
    import random
    from datetime import UTC, datetime, timedelta

    from erp_platform.sandbox._normalise import _iso_utc, to_datetime

    rng = random.Random(7)
    base = datetime(2000, 1, 1, tzinfo=UTC)
    checked = 0
    for _ in range(400):
        micros = rng.choice([0, 0, 1000, 123456])
        moment = base + timedelta(seconds=rng.randrange(0, 10**9), microseconds=micros)
        naive = moment.replace(tzinfo=None)
        for text in (
            naive.isoformat(timespec="seconds") + "Z",
            naive.isoformat(timespec="milliseconds") + "Z",
            naive.isoformat(timespec="microseconds") + "Z",
            moment.isoformat(timespec="seconds"),
            moment.isoformat(),
            naive.isoformat(timespec="milliseconds") + "+02:00",
        ):
            assert to_datetime(text) == _iso_utc(text), text
            checked += 1
    assert checked == 2400


def test_odata_milliseconds_agree_with_datetime_arithmetic() -> None:
    import random
    from datetime import UTC, datetime, timedelta

    rng = random.Random(11)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for _ in range(5000):
        ms = rng.randrange(-2_208_988_800_000, 4_102_444_800_000)
        expected = epoch + timedelta(milliseconds=ms)
        assert one(FieldKind.DATETIME, f"/Date({ms})/") == expected.isoformat()
        assert one(FieldKind.DATE, f"/Date({ms}+0100)/") == expected.date().isoformat()
