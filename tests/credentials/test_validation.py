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


@pytest.mark.parametrize(("secret", "message"), [
    ("", f"{WHERE} is empty: pass a non-empty secret value (the token, password or key itself)"),
    (None, f"{WHERE} must be a string (received a value of type NoneType)"),
    (b"bytes", f"{WHERE} must be a string (received a value of type bytes)"),
    ("ab\x00cd", f"{WHERE} contains a NUL character (\\x00), which is not allowed: remove it"),
    ("ab\ud800",
     f"{WHERE} is not valid Unicode text (it contains a lone surrogate): pass the secret as text"),
    ("x" * (MAX_SECRET_BYTES + 1), f"{WHERE} is 65537 bytes in UTF-8: at most 65536 bytes (64 KiB) are "
                                   "allowed; store a shorter value"),
    ("é" * 32769, f"{WHERE} is 65538 bytes in UTF-8: at most 65536 bytes (64 KiB) are allowed; store a "
                  "shorter value"),
])
def test_bad_secrets(secret: object, message: str) -> None:
    with pytest.raises(InvalidInputError) as err:
        validate_secret(secret, tenant="acme", name="token")
    assert str(err.value) == message


@pytest.mark.parametrize("secret", ["x", " padded ", "x" * MAX_SECRET_BYTES, "é" * 32768, "line1\nline2"])
def test_good_secrets(secret: str) -> None:
    assert validate_secret(secret, tenant="acme", name="token") == secret


def test_store_paths_come_only_from_a_valid_slug_and_name() -> None:
    assert credential_path("acme", "erp_api_token") == "erp/tenants/acme/erp_api_token"
    with pytest.raises(InvalidInputError, match=r"tenant slug 'acme/\.\./b' is invalid"):
        credential_path("acme/../b", "token")
    with pytest.raises(InvalidInputError, match=r"credential name '\.\./b' is invalid"):
        credential_path("acme", "../b")
