"""Adversarial isolation: under tenant A's role nothing of tenant B, erp_control or public is reachable."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from erp_platform.tenancy import TenantInfo, TenantService, tenant_transaction


@pytest.fixture(scope="module")
def pair(engine: Engine, tenants: TenantService) -> tuple[TenantInfo, TenantInfo]:
    a = tenants.create("iso_alpha", "free")
    b = tenants.create("iso_beta", "enterprise")
    with tenant_transaction(engine, b) as conn:
        conn.execute(text("CREATE TABLE customers (id int PRIMARY KEY, name text)"))
        conn.execute(text("INSERT INTO customers VALUES (1, 'secret customer of beta')"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS public.iso_probe (x int)"))
    return a, b


ATTACKS = [
    ("read B's table", "SELECT * FROM tenant_iso_beta.customers"),
    ("write B's table", "INSERT INTO tenant_iso_beta.customers VALUES (2, 'x')"),
    ("update B's table", "UPDATE tenant_iso_beta.customers SET name = 'pwned'"),
    ("delete B's rows", "DELETE FROM tenant_iso_beta.customers"),
    ("create in B's schema", "CREATE TABLE tenant_iso_beta.evil (x int)"),
    ("drop B's table", "DROP TABLE tenant_iso_beta.customers"),
    ("read erp_control", "SELECT * FROM erp_control.tenants"),
    ("read credentials metadata", "SELECT * FROM erp_control.tenant_credentials"),
    ("read ciphertext", "SELECT * FROM erp_control.local_secrets"),
    (
        "write audit log",
        "INSERT INTO erp_control.audit_log (actor, action, target_type) VALUES ('a','b','c')",
    ),
    ("create in erp_control", "CREATE TABLE erp_control.evil (x int)"),
    ("read public table", "SELECT * FROM public.iso_probe"),
    ("create in public", "CREATE TABLE public.evil (x int)"),
    ("grant itself B's role", "GRANT erp_t_iso_beta TO CURRENT_USER"),
    ("create a role", "CREATE ROLE evil"),
    ("alter B's role limits", "ALTER ROLE erp_t_iso_beta SET work_mem = '4GB'"),
    ("rename B's schema", "ALTER SCHEMA tenant_iso_beta RENAME TO stolen"),
    ("create schema", "CREATE SCHEMA evil"),
]


@pytest.mark.parametrize(("label", "sql"), ATTACKS, ids=[a[0] for a in ATTACKS])
def test_tenant_a_cannot_touch_b_or_control_plane(
    engine: Engine, pair: tuple[TenantInfo, TenantInfo], label: str, sql: str
) -> None:
    a, b = pair
    with pytest.raises(DBAPIError) as info, tenant_transaction(engine, a) as conn:
        conn.execute(text(sql.replace("erp_t_iso_beta", f'"{b.role_name}"')))
    assert info.value.orig is not None
    assert info.value.orig.sqlstate == "42501", f"{label}: {info.value.orig}"  # insufficient_privilege
    with tenant_transaction(engine, b) as conn:
        assert conn.execute(text("SELECT name FROM customers")).scalars().all() == ["secret customer of beta"]


def test_a_works_in_its_own_schema_only(engine: Engine, pair: tuple[TenantInfo, TenantInfo]) -> None:
    a, _ = pair
    with tenant_transaction(engine, a) as conn:
        conn.execute(text("CREATE TABLE orders (id int PRIMARY KEY)"))
        conn.execute(text("INSERT INTO orders VALUES (1)"))
        assert conn.execute(text("SELECT current_user")).scalar_one() == a.role_name
        assert conn.execute(text("SHOW search_path")).scalar_one() == "tenant_iso_alpha"
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar_one() == 1
        assert conn.execute(text("SELECT to_regclass('orders')::text")).scalar_one() == "orders"
        assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "1min"


def test_role_is_reset_after_the_transaction(engine: Engine, pair: tuple[TenantInfo, TenantInfo]) -> None:
    a, _ = pair
    with tenant_transaction(engine, a) as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == a.role_name
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() != a.role_name


def test_a_cannot_see_bs_rows_through_its_own_name_resolution(
    engine: Engine, pair: tuple[TenantInfo, TenantInfo]
) -> None:
    """An unqualified name resolves inside A's schema only; B's table of the same name is invisible."""
    a, _ = pair
    with (
        pytest.raises(DBAPIError, match='relation "customers" does not exist'),
        tenant_transaction(engine, a) as conn,
    ):
        conn.execute(text("SELECT * FROM customers"))


# -- escapes from the session: a tenant connection logs in as the tenant, so there is nothing to return to --
ESCAPES = [
    ("reset role, then read B", ["RESET ROLE", "SELECT * FROM tenant_iso_beta.customers"]),
    ("reset role, then read erp_control", ["RESET ROLE", "SELECT * FROM erp_control.local_secrets"]),
    ("set role to the platform", ["SET ROLE {platform}"]),
    ("set role to B's role", ["SET ROLE {beta}"]),
    ("set session authorization to the platform", ["SET SESSION AUTHORIZATION {platform}"]),
    ("reset session authorization, then read B",
     ["RESET SESSION AUTHORIZATION", "SELECT * FROM tenant_iso_beta.customers"]),
    ("reset all, then write B", ["RESET ALL", "RESET ROLE", "DELETE FROM tenant_iso_beta.customers"]),
]


@pytest.mark.parametrize(("label", "statements"), ESCAPES, ids=[e[0] for e in ESCAPES])
def test_tenant_connection_cannot_escape_its_role(
    engine: Engine, pair: tuple[TenantInfo, TenantInfo], label: str, statements: list[str]
) -> None:
    a, b = pair
    names = {"platform": f'"{engine.url.username}"', "beta": f'"{b.role_name}"'}
    with pytest.raises(DBAPIError) as info, tenant_transaction(engine, a) as conn:
        assert conn.execute(text("SELECT session_user")).scalar_one() == a.role_name
        for sql in statements:
            conn.execute(text(sql.format(**names)))
    assert info.value.orig is not None
    assert info.value.orig.sqlstate == "42501", f"{label}: {info.value.orig}"  # insufficient_privilege
    with tenant_transaction(engine, b) as conn:
        assert conn.execute(text("SELECT name FROM customers")).scalars().all() == ["secret customer of beta"]


def test_tenant_roles_are_plain_logins_with_no_memberships(
    engine: Engine, pair: tuple[TenantInfo, TenantInfo]
) -> None:
    a, _ = pair
    with engine.connect() as conn:
        role = conn.execute(text(
            "SELECT rolcanlogin, rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolreplication, rolbypassrls "
            "FROM pg_roles WHERE rolname = :r"), {"r": a.role_name}).one()
        member_of = conn.execute(text(
            "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = :r"),
            {"r": a.role_name}).scalar_one()
    assert tuple(role) == (True, False, False, False, False, False, False)
    assert member_of == 0


def test_a_role_made_before_tenant_logins_gets_its_login_on_first_use(
    engine: Engine, tenants: TenantService
) -> None:
    old = tenants.create("iso_legacy", "free")
    with engine.begin() as conn:
        conn.execute(text(f'ALTER ROLE "{old.role_name}" NOLOGIN'))
    with tenant_transaction(engine, old) as conn:
        assert conn.execute(text("SELECT session_user")).scalar_one() == old.role_name
    with engine.connect() as conn:
        assert conn.execute(text("SELECT rolcanlogin FROM pg_roles WHERE rolname = :r"),
                            {"r": old.role_name}).scalar_one() is True
