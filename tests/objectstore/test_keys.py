"""Object keys: one builder from a tenant slug, a table of refused parts, and the layout helpers."""

from __future__ import annotations

import dataclasses

import pytest

from erp_platform._errors import InvalidInputError
from erp_platform.objectstore import (
    InvalidObjectKeyError,
    ObjectKey,
    activity_output_key,
    sdk_artifact_key,
    tenant_key,
    tenant_prefix,
)
from erp_platform.objectstore._keys import key_from_stored_path

ALLOWED = "use letters, digits and . _ - = + @ , (not starting with '.')"
PARENT = "which refers to the parent folder: keys cannot leave their folder"

# Each bad part with the exact message tenant_key("acme", part) gives. Shared with the store contract tests.
BAD_PARTS: list[tuple[object, str]] = [
    ("", "part '' is empty: every part needs at least one character"),
    ("..", f"part '..' contains '..', {PARENT}"),
    ("../other_tenant/secret.txt", f"part '../other_tenant/secret.txt' contains '..', {PARENT}"),
    ("reports/../../other_tenant", f"part 'reports/../../other_tenant' contains '..', {PARENT}"),
    ("tenants/../../other", f"part 'tenants/../../other' contains '..', {PARENT}"),
    (".", "part '.' contains '.', which refers to the current folder: keys cannot leave their folder"),
    ("a/./b",
     "part 'a/./b' contains '.', which refers to the current folder: keys cannot leave their folder"),
    ("/etc/passwd", "part '/etc/passwd' is an absolute path: keys are relative to the tenant's prefix; drop "
                    "the leading '/'"),
    ("/tenants/other/x", "part '/tenants/other/x' is an absolute path: keys are relative to the tenant's "
                         "prefix; drop the leading '/'"),
    ("..\\other", "part '..\\\\other' contains a backslash: separate folders with '/' instead"),
    ("a\\b", "part 'a\\\\b' contains a backslash: separate folders with '/' instead"),
    ("a\x00b", "part 'a\\x00b' contains the control character '\\x00': remove it"),
    ("a\nb", "part 'a\\nb' contains the control character '\\n': remove it"),
    ("a\x7fb", "part 'a\\x7fb' contains the control character '\\x7f': remove it"),
    ("a//b", "part 'a//b' has an empty segment (a trailing '/' or '//'): remove it"),
    ("a/", "part 'a/' has an empty segment (a trailing '/' or '//'): remove it"),
    (".hidden", "part '.hidden' has a segment starting with '.' ('.hidden'): such names are reserved for the "
                "store's temporary files"),
    ("a/.tmp", "part 'a/.tmp' has a segment starting with '.' ('.tmp'): such names are reserved for the "
               "store's temporary files"),
    ("a b", f"part 'a b' contains ' ', which is not allowed: {ALLOWED}"),
    ("%2e%2e", f"part '%2e%2e' contains '%', which is not allowed: {ALLOWED}"),
    ("\uff0e\uff0e", f"part '\uff0e\uff0e' contains '\uff0e', which is not allowed: {ALLOWED}"),
    ("x?y", f"part 'x?y' contains '?', which is not allowed: {ALLOWED}"),
    ("*", f"part '*' contains '*', which is not allowed: {ALLOWED}"),
    ("x" * 256, f"part '{'x' * 256}' has a segment of 256 characters: at most 255 are allowed"),
]


@pytest.mark.parametrize(("part", "message"), BAD_PARTS)
def test_bad_parts_are_refused_with_exact_messages(part: object, message: str) -> None:
    with pytest.raises(InvalidObjectKeyError) as err:
        tenant_key("acme", part)  # type: ignore[arg-type]
    assert str(err.value) == f"invalid object key for tenant 'acme': {message}"


@pytest.mark.parametrize("part", [5, None, b"bytes"])
def test_parts_must_be_strings(part: object) -> None:
    with pytest.raises(InvalidObjectKeyError) as err:
        tenant_key("acme", part)  # type: ignore[arg-type]
    assert str(err.value) == (
        f"invalid object key for tenant 'acme': parts must be strings (received {type(part).__name__})"
    )


@pytest.mark.parametrize("slug", ["../acme", "Acme", "a", "acme/x", "", "tenants/acme"])
def test_bad_slugs_are_refused(slug: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        tenant_key(slug, "x")
    assert str(err.value) == (
        f"tenant slug {slug!r} is invalid: it must match ^[a-z][a-z0-9_]{{2,39}}$ (start with a lowercase "
        "letter, then 2 to 39 lowercase letters, digits or underscores)"
    )


def test_keys_longer_than_s3_allows_are_refused() -> None:
    with pytest.raises(InvalidObjectKeyError) as err:
        tenant_key("acme", *(["x" * 200] * 6))
    assert str(err.value) == (
        "object key for tenant 'acme' is 1218 bytes long: at most 1024 bytes are allowed; use shorter parts"
    )


def test_valid_keys() -> None:
    key = tenant_key("acme", "reports/2024", "q1.csv")
    assert key.path == str(key) == "tenants/acme/reports/2024/q1.csv"
    assert key.segments == ("reports", "2024", "q1.csv")
    assert key == tenant_key("acme", "reports", "2024", "q1.csv")
    assert hash(key) == hash(tenant_key("acme", "reports", "2024/q1.csv"))
    assert repr(key) == "ObjectKey('tenants/acme/reports/2024/q1.csv')"
    assert tenant_key("acme", "a.b-c_d=e+f@g,h..i").path == "tenants/acme/a.b-c_d=e+f@g,h..i"
    assert key.child("x").path == "tenants/acme/reports/2024/q1.csv/x"
    assert tenant_prefix("acme").path == "tenants/acme" and tenant_prefix("acme").is_prefix_only


def test_a_key_can_never_name_another_tenant() -> None:
    nested = tenant_key("acme", "tenants", "other", "secret.txt")  # looks like B's path, but lives under A
    assert nested.path == "tenants/acme/tenants/other/secret.txt"
    with pytest.raises(InvalidObjectKeyError):
        tenant_key("acme").child("..", "other")


def test_keys_cannot_be_built_or_changed_directly() -> None:
    with pytest.raises(TypeError) as err:
        ObjectKey("acme", ("..", "other"))
    assert str(err.value) == "ObjectKey cannot be built directly: build keys with tenant_key(slug, *parts)"
    key = tenant_key("acme", "x")
    with pytest.raises(TypeError):
        dataclasses.replace(key, tenant="other")
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.tenant = "other"  # type: ignore[misc]


def test_layout_helpers() -> None:
    wasm = sdk_artifact_key("acme", "sap_s4", 3, "module.wasm")
    assert wasm.path == "tenants/acme/sdks/sap_s4/v3/module.wasm"
    assert sdk_artifact_key("acme", "sap_s4", 3).path == "tenants/acme/sdks/sap_s4/v3"
    run = "9f1c2d3e-1111-2222-3333-444455556666"
    assert activity_output_key("acme", run, "orders", 2).path == (
        f"tenants/acme/executions/{run}/activities/orders/attempt-2.parquet"
    )


@pytest.mark.parametrize(("build", "message"), [
    (lambda: sdk_artifact_key("acme", "sap", 0), "SDK version must be a positive integer (received 0)"),
    (lambda: sdk_artifact_key("acme", "sap", True), "SDK version must be a positive integer (received True)"),
    (lambda: sdk_artifact_key("acme", "sap", "3"), "SDK version must be a positive integer (received '3')"),
    (lambda: sdk_artifact_key("acme", "a/b", 1),
     "SDK name 'a/b' contains '/': it must be a single path segment"),
    (lambda: activity_output_key("acme", "r1", "orders", 0),
     "attempt must be a positive integer (received 0)"),
    (lambda: activity_output_key("acme", "../r", "orders", 1),
     "run id '../r' contains '/': it must be a single path segment"),
    (lambda: activity_output_key("acme", "r1", "a/b", 1),
     "asset name 'a/b' contains '/': it must be a single path segment"),
    (lambda: activity_output_key("acme", "..", "orders", 1), f"part '..' contains '..', {PARENT}"),
])
def test_layout_helpers_refuse_bad_values(build: object, message: str) -> None:
    with pytest.raises(InvalidObjectKeyError) as err:
        build()  # type: ignore[operator]
    assert str(err.value) == f"invalid object key for tenant 'acme': {message}"


@pytest.mark.parametrize(("stored", "expected"), [
    ("tenants/acme/a/b.txt", "tenants/acme/a/b.txt"),
    ("tenants/acme", None),
    ("tenants/acme/", None),
    ("other/acme/x", None),
    ("tenants/Acme/x", None),
    ("tenants/acme/../x", None),
    ("tenants/acme/a b", None),
    ("tenants/acme/.x.tmp", None),
])
def test_stored_paths_turn_back_into_keys_only_when_valid(stored: str, expected: str | None) -> None:
    key = key_from_stored_path(stored)
    assert (key.path if key is not None else None) == expected


def test_keys_survive_pickling_and_copying() -> None:
    import copy
    import pickle

    key = tenant_key("acme", "a", "b")
    assert pickle.loads(pickle.dumps(key)) == key
    assert copy.deepcopy(key) == key
