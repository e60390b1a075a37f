"""``erp credentials ...``: secrets come from stdin, never appear in output, and stay per tenant."""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.support.cli import ErpCli

SECRET = "tok-very-secret-123456"


def test_set_list_rotate_delete_never_prints_the_secret(erp: ErpCli, engine: Engine) -> None:
    assert erp("tenant", "create", "cred_cli_a", "--tier", "free").code == 0
    stored = erp("credentials", "set", "cred_cli_a", "token", "--json", input=SECRET + "\n")
    assert stored.code == 0, stored.stderr
    assert stored.json()["version"] == 1
    listed = erp("credentials", "list", "cred_cli_a", "--json")
    assert [c["name"] for c in listed.json()] == ["token"]
    rotated = erp("credentials", "rotate", "cred_cli_a", "token", "--json", input="tok-rotated-999\n")
    assert rotated.json()["version"] == 2
    for result in (stored, listed, rotated, erp("credentials", "list", "cred_cli_a")):
        assert SECRET not in result.stdout + result.stderr
        assert "tok-rotated-999" not in result.stdout + result.stderr
    with engine.connect() as conn:
        audit = conn.execute(
            text("SELECT action, details::text FROM erp_control.audit_log WHERE tenant_slug = 'cred_cli_a'")
        ).all()
    assert {"credential.set", "credential.list", "credential.rotate"} <= {a for a, _ in audit}
    assert all(SECRET not in details and "tok-rotated-999" not in details for _, details in audit)
    refused = erp("credentials", "delete", "cred_cli_a", "token")
    assert refused.code == 2
    assert erp("credentials", "delete", "cred_cli_a", "token", "--yes").code == 0
    assert erp("credentials", "list", "cred_cli_a", "--json").json() == []


def test_secret_is_never_taken_from_argv(erp: ErpCli) -> None:
    assert erp("tenant", "create", "cred_cli_argv", "--tier", "free").code == 0
    result = erp("credentials", "set", "cred_cli_argv", "token", SECRET, input="")
    assert result.code != 0
    assert "Got unexpected extra argument" in result.stderr
    assert erp("credentials", "list", "cred_cli_argv", "--json").json() == []


def test_empty_secret_is_refused_with_the_exact_message(erp: ErpCli) -> None:
    assert erp("tenant", "create", "cred_cli_empty", "--tier", "free").code == 0
    result = erp("credentials", "set", "cred_cli_empty", "token", input="\n")
    assert result.code == 2
    assert result.stderr.strip() == (
        "error: secret for credential 'token' of tenant 'cred_cli_empty' is empty: pass a non-empty secret "
        "value (the token, password or key itself)"
    )
    assert erp("credentials", "list", "cred_cli_empty", "--json").json() == []


def test_tenant_b_cannot_list_or_rotate_a_credential_of_a(erp: ErpCli) -> None:
    assert erp("tenant", "create", "cred_cli_own", "--tier", "free").code == 0
    assert erp("tenant", "create", "cred_cli_other", "--tier", "free").code == 0
    assert erp("credentials", "set", "cred_cli_own", "token", input=SECRET).code == 0
    assert erp("credentials", "list", "cred_cli_other", "--json").json() == []
    rotated = erp("credentials", "rotate", "cred_cli_other", "token", input="x-new-value")
    assert rotated.code == 2
    assert "does not exist" in rotated.stderr
