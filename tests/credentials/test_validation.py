"""Credential names, secret values and store paths: bad input is a table of exact messages."""

from __future__ import annotations

import pytest

from erp_platform._errors import InvalidInputError
from erp_platform.credentials import (
    CREDENTIAL_NAME_RULE,
    MAX_SECRET_BYTES,
    credential_path,
    validate_credential_name,
    validate_secret,
)

NAME_HELP = (f"it must match {CREDENTIAL_NAME_RULE} (a lowercase letter, then up to 62 lowercase letters, "
             "digits or underscores), e.g. erp_api_token")


@pytest.mark.parametrize(("name", "shown"), [
    ("", "''"),
    ("Token", "'Token'"),
    ("1token", "'1token'"),
    ("_token", "'_token'"),
    ("tok-en", "'tok-en'"),
    ("tok en", "'tok en'"),
    ("token\n", "'token\\n'"),
    ("../token", "'../token'"),
    ("a" * 64, repr("a" * 64)),
    (5, "of type int"),
    (None, "of type NoneType"),
])
def test_bad_names(name: object, shown: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        validate_credential_name(name)
    assert str(err.value) == f"credential name {shown} is invalid: {NAME_HELP}"


@pytest.mark.parametrize("name", ["a", "t0", "erp_api_token", "a" * 63])
def test_good_names(name: str) -> None:
    assert validate_credential_name(name) == name


WHERE = "secret for credential 'token' of tenant 'acme'"


NON_ASCII = ("credentials are sent in HTTP headers and URLs, which carry printable ASCII only. Check that you copied "
             "the right value (no typographic quotes or non-breaking spaces)")
CONTROL = ("control characters (CR, LF, NUL, ESC, ...) are refused, since they would inject HTTP headers or terminal "
           "escapes. Pass the value without them (`printf %s VALUE`, not `echo`)")


@pytest.mark.parametrize(("secret", "message"), [
    ("", f"{WHERE} is empty: pass a non-empty secret value (the token, password or key itself)"),
    (None, f"{WHERE} must be a string (received a value of type NoneType)"),
    (b"bytes", f"{WHERE} must be a string (received a value of type bytes)"),
    ("ab\x00cd", f"{WHERE} contains the control character U+0000 (at position 3 of 5): {CONTROL}"),
    ("tok\r\nX-Injected: 1", f"{WHERE} contains the control character U+000D (at position 4 of 18): {CONTROL}"),
    ("line1\nline2", f"{WHERE} contains the control character U+000A (at position 6 of 11): {CONTROL}"),
    ("\x1b[31mred", f"{WHERE} contains the control character U+001B (at position 1 of 8): {CONTROL}"),
    ("tab\there", f"{WHERE} contains the control character U+0009 (at position 4 of 8): {CONTROL}"),
    ("del\x7f", f"{WHERE} contains the control character U+007F (at position 4 of 4): {CONTROL}"),
    ("ab\ud800", f"{WHERE} contains a non-ASCII character (at position 3 of 3): {NON_ASCII}"),
    ("pässwort", f"{WHERE} contains a non-ASCII character (at position 2 of 8): {NON_ASCII}"),
    ("tok\u00a0en", f"{WHERE} contains a non-ASCII character (at position 4 of 6): {NON_ASCII}"),
    ("x" * (MAX_SECRET_BYTES + 1), f"{WHERE} is 65537 bytes: at most 65536 bytes (64 KiB) are allowed; store a "
                                   "shorter value"),
])
def test_bad_secrets(secret: object, message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        validate_secret(secret, tenant="acme", name="token")
    assert str(err.value) == message


def test_the_message_names_the_sdk() -> None:
    with pytest.raises(InvalidInputError) as err:
        validate_secret("a\rb", tenant="acme", name="token", sdk="mock_erp")
    assert str(err.value).startswith("secret for credential 'token' of SDK 'mock_erp' of tenant 'acme' contains ")


@pytest.mark.parametrize("secret", ["x", " padded ", "x" * MAX_SECRET_BYTES, "tok-acme", "a+b/c=d~!*'()&?#%"])
def test_good_secrets(secret: str) -> None:
    assert validate_secret(secret, tenant="acme", name="token") == secret


def test_store_paths_come_only_from_a_valid_slug_sdk_and_name() -> None:
    assert credential_path("acme", "erp_api_token", "mock_erp") == "erp/tenants/acme/sdks/mock_erp/erp_api_token"
    assert credential_path("acme", "erp_api_token", None) == "erp/tenants/acme/erp_api_token"
    with pytest.raises(InvalidInputError, match=r"tenant slug 'acme/\.\./b' is invalid"):
        credential_path("acme/../b", "token", "mock_erp")
    with pytest.raises(InvalidInputError, match=r"credential name '\.\./b' is invalid"):
        credential_path("acme", "../b", "mock_erp")
    with pytest.raises(InvalidInputError, match=r"SDK name '\.\./other' is invalid"):
        credential_path("acme", "token", "../other")
