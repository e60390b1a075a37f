"""``erp credentials ...``: secrets come from stdin, never appear in output, and stay per tenant."""

from __future__ import annotations

from sqlalchemy import Engine, text

from tests.support.cli import ErpCli

SECRET = "tok-very-secret-123456"


def test_set_list_rotate_delete_never_prints_the_secret(erp: ErpCli, engine: Engine) -> None:
    assert erp("tenant", "create", "cred_cli_a", "--tier", "free").code == 0
    stored = erp("credentials", "set", "cred_cli_a", "token", "--sdk", "mock_erp", "--json", input=SECRET + "\n")
    assert stored.code == 0, stored.stderr
    assert (stored.json()["version"], stored.json()["sdk"]) == (1, "mock_erp")
    listed = erp("credentials", "list", "cred_cli_a", "--json")
    assert [(c["sdk"], c["name"]) for c in listed.json()] == [("mock_erp", "token")]
    rotated = erp("credentials", "rotate", "cred_cli_a", "token", "--sdk", "mock_erp", "--json",
                  input="tok-rotated-999\n")
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
    refused = erp("credentials", "delete", "cred_cli_a", "token", "--sdk", "mock_erp")
    assert refused.code == 2
    assert erp("credentials", "delete", "cred_cli_a", "token", "--sdk", "mock_erp", "--yes").code == 0
    assert erp("credentials", "list", "cred_cli_a", "--json").json() == []


def test_secret_is_never_taken_from_argv(erp: ErpCli) -> None:
    assert erp("tenant", "create", "cred_cli_argv", "--tier", "free").code == 0
    result = erp("credentials", "set", "cred_cli_argv", "token", SECRET, input="")
    assert result.code != 0
    assert "Got unexpected extra argument" in result.stderr
    assert erp("credentials", "list", "cred_cli_argv", "--json").json() == []


def test_empty_secret_is_refused_with_the_exact_message(erp: ErpCli) -> None:
    assert erp("tenant", "create", "cred_cli_empty", "--tier", "free").code == 0
    result = erp("credentials", "set", "cred_cli_empty", "token", "--sdk", "mock_erp", input="\n")
    assert result.code == 2
    assert result.stderr.strip() == (
        "error: secret for credential 'token' of SDK 'mock_erp' of tenant 'cred_cli_empty' is empty: pass a "
        "non-empty secret value (the token, password or key itself)"
    )
    assert erp("credentials", "list", "cred_cli_empty", "--json").json() == []


def test_tenant_b_cannot_list_or_rotate_a_credential_of_a(erp: ErpCli) -> None:
    assert erp("tenant", "create", "cred_cli_own", "--tier", "free").code == 0
    assert erp("tenant", "create", "cred_cli_other", "--tier", "free").code == 0
    assert erp("credentials", "set", "cred_cli_own", "token", "--sdk", "mock_erp", input=SECRET).code == 0
    assert erp("credentials", "list", "cred_cli_other", "--json").json() == []
    rotated = erp("credentials", "rotate", "cred_cli_other", "token", "--sdk", "mock_erp", input="x-new-value")
    assert rotated.code == 2
    assert "does not exist" in rotated.stderr


# -- hostile: credentials bound to an SDK, values that would inject headers or break the terminal ----------
def test_set_without_sdk_is_refused_with_the_command_that_fixes_it(erp: ErpCli) -> None:
    assert erp("tenant", "create", "cred_cli_nosdk", "--tier", "free").code == 0
    result = erp("credentials", "set", "cred_cli_nosdk", "token", input=SECRET)
    assert result.code == 2
    assert result.stderr.strip() == (
        "error: credential token of tenant cred_cli_nosdk: add --sdk SDK to set it. Credentials are bound to the "
        "SDK that sends them, and no other SDK of the tenant reads them: `printf %s VALUE | erp credentials set "
        "cred_cli_nosdk token --sdk SDK` (`erp sdk list cred_cli_nosdk` lists the SDKs; `erp sdk show "
        "cred_cli_nosdk SDK` lists the credentials each asks for)"
    )
    assert SECRET not in result.stdout + result.stderr
    assert erp("credentials", "list", "cred_cli_nosdk", "--json").json() == []


CONTROL = ("control characters (CR, LF, NUL, ESC, ...) are refused, since they would inject HTTP headers or "
           "terminal escapes. Pass the value without them (`printf %s VALUE`, not `echo`)")
NON_ASCII = ("credentials are sent in HTTP headers and URLs, which carry printable ASCII only. Check that you "
             "copied the right value (no typographic quotes or non-breaking spaces)")


def test_control_and_non_ascii_characters_are_refused_at_set_time(erp: ErpCli) -> None:
    assert erp("tenant", "create", "cred_cli_ctl", "--tier", "free").code == 0
    where = "error: secret for credential 'token' of SDK 'mock_erp' of tenant 'cred_cli_ctl'"
    cases = [
        ("tok-abc\r\nX-Injected: yes", f"{where} contains the control character U+000D (at position 8 of 24): "
         f"{CONTROL}"),
        ("tok-\x1b]0;owned\x07", f"{where} contains the control character U+001B (at position 5 of 14): {CONTROL}"),
        ("tök-secret", f"{where} contains a non-ASCII character (at position 2 of 10): {NON_ASCII}"),
    ]
    for secret, message in cases:
        result = erp("credentials", "set", "cred_cli_ctl", "token", "--sdk", "mock_erp", input=secret)
        assert (result.code, result.stderr.strip()) == (2, message)
        assert "Traceback" not in result.stderr and secret not in result.stdout + result.stderr
    assert erp("credentials", "list", "cred_cli_ctl", "--json").json() == []


def test_grant_shares_a_credential_between_two_sdks_explicitly(erp: ErpCli, engine: Engine) -> None:
    assert erp("tenant", "create", "cred_cli_grant", "--tier", "free").code == 0
    assert erp("credentials", "set", "cred_cli_grant", "token", "--sdk", "billing", input=SECRET).code == 0
    granted = erp("credentials", "grant", "cred_cli_grant", "token", "--sdk", "crm", "--from-sdk", "billing")
    assert granted.code == 0, granted.stderr
    assert " ".join(granted.stdout.split()) == (
        "granted credential token of tenant cred_cli_grant to SDK crm (copied from SDK billing, version 1)")
    listed = erp("credentials", "list", "cred_cli_grant", "--json").json()
    assert [(c["sdk"], c["name"]) for c in listed] == [("billing", "token"), ("crm", "token")]
    unscoped = erp("credentials", "delete", "cred_cli_grant", "token", "--yes")
    assert unscoped.code == 2 and "name the SDK it is bound to with --sdk SDK" in unscoped.stderr
    with engine.connect() as conn:
        [details] = conn.execute(text(
            "SELECT details::text FROM erp_control.audit_log WHERE tenant_slug = 'cred_cli_grant' "
            "AND action = 'credential.grant'")).scalars().all()
    assert '"from_sdk": "billing"' in details and SECRET not in details
