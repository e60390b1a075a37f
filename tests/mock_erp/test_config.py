"""MockErpConfig: defaults and invalid configurations (each with its exact message)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from erp_platform.mock_erp import MockErpConfig, TenantAuth


def test_defaults() -> None:
    config = MockErpConfig()
    assert (config.rows, config.seed) == (1000, 0)
    assert config.tenant_for_token() == {"tok-acme": "acme", "tok-globex": "globex"}
    assert config.tenant_for_api_key() == {"key-acme": "acme", "key-globex": "globex"}


def test_secrets_are_masked_in_repr() -> None:
    auth = TenantAuth(token="super-secret-token", api_key="another-secret")
    assert repr(auth) == "TenantAuth(token='s*****n', api_key='a*****t')"
    assert "super-secret-token" not in repr(MockErpConfig(tenants={"a": auth}))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rows": 0}, "rows\n  Input should be greater than or equal to 1"),
        ({"rows": 10_000_001}, "rows\n  Input should be less than or equal to 10000000"),
        ({"seed": -1}, "seed\n  Input should be greater than or equal to 0"),
        ({"tenants": {}}, "tenants\n  Dictionary should have at least 1 item after validation, not 0"),
        (
            {"tenants": {"Acme Corp": TenantAuth(token="t", api_key="k")}},
            "tenants\n  Value error, ERP tenant code 'Acme Corp' is invalid: use 1-63 characters of a-z, "
            "0-9, '_' and '-', starting with a letter or digit",
        ),
        (
            {
                "tenants": {
                    "a": TenantAuth(token="same-token", api_key="k1"),
                    "b": TenantAuth(token="same-token", api_key="k2"),
                }
            },
            "Value error, ERP tenants 'a' and 'b' share the credential s*****n (token): give every tenant "
            "its own token and api_key",
        ),
        ({"color": "red"}, "color\n  Extra inputs are not permitted"),
    ],
)
def test_invalid_config(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        MockErpConfig(**kwargs)
    assert message in str(caught.value)
    assert "same-token" not in str(caught.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"token": "", "api_key": "k"}, "token\n  String should have at least 1 character"),
        ({"token": "t"}, "api_key\n  Field required"),
    ],
)
def test_invalid_tenant_auth(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        TenantAuth(**kwargs)
    assert message in str(caught.value)
