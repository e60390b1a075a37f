"""``erp workflow ...`` and ``erp mapping ...`` through the real console entry point (a subprocess)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from erp_platform.workflows import content_hash, parse_definition
from tests.support.cli import ErpCli
from tests.workflows.samples import VALID, insert_sdk

BY_REF = VALID.replace(
    """      mapping:
        columns:
          - {source: id, target: order_id, type: bigint, nullable: false}
          - {source: customer_name, target: customer, type: text}
          - {source: total, target: amount, type: "numeric(12,2)"}
""",
    "      mapping_ref: sales_map\n",
)
SALES_MAP = """\
name: sales_map
columns:
  - {source: id, target: order_id, type: bigint, nullable: false}
  - {source: customer_name, target: customer, type: text}
"""


def test_workflow_round_trip(
    erp: ErpCli, new_tenant: Callable[[], str], engine: Engine, tmp_path: Path
) -> None:
    tenant = new_tenant()
    insert_sdk(engine, tenant)
    wf = tmp_path / "orders.yaml"
    wf.write_text(VALID)
    expected_hash = content_hash(parse_definition(VALID, filename="orders.yaml"))

    applied = erp("workflow", "apply", tenant, str(wf), "--json")
    assert applied.code == 0, applied.stderr
    body = applied.json()
    assert (body["workflow_id"], body["version"], body["status"]) == ("orders_sync", 1, "DRAFT")
    assert body["created"] is True
    assert body["content_hash"] == expected_hash
    again = erp("workflow", "apply", tenant, str(wf), "--json").json()
    assert (again["version"], again["created"]) == (1, False)
    human_again = erp("workflow", "apply", tenant, str(wf))
    assert "  new version            no: the newest version has the same content" in human_again.stdout
    assert f"  content hash           {expected_hash}" in human_again.stdout

    activated = erp("workflow", "activate", tenant, "orders_sync", "1", "--json")
    assert activated.code == 0, activated.stderr
    assert activated.json()["status"] == "ACTIVE"

    listed = erp("workflow", "list", tenant, "--json").json()
    assert [(r["workflow_id"], r["version"], r["status"]) for r in listed] == [("orders_sync", 1, "ACTIVE")]
    shown = erp("workflow", "show", tenant, "orders_sync", "--json").json()
    assert shown["definition"]["id"] == "orders_sync"
    assert shown["definition"]["activities"][2]["config"]["steps"][1]["with"] == "customers"

    deprecated = erp("workflow", "deprecate", tenant, "orders_sync", "1", "--after", "2030-01-01",
                     "--force-cancel-after", "2030-02-01T12:00:00+01:00", "--json")
    assert deprecated.code == 0, deprecated.stderr
    assert (deprecated.json()["deprecated_after"], deprecated.json()["force_cancel_after"]) == (
        "2030-01-01T00:00:00Z", "2030-02-01T11:00:00Z"
    )
    human = erp("workflow", "show", tenant, "orders_sync", "--version", "1")
    assert human.code == 0, human.stderr
    assert "2030-01-01T00:00:00+00:00" in human.stdout
    assert "operation: list_orders" in human.stdout

    retired = erp("workflow", "retire", tenant, "orders_sync", "1", "--json")
    assert retired.json()["status"] == "RETIRED"
    refused = erp("workflow", "activate", tenant, "orders_sync", "1")
    assert refused.code == 2
    assert refused.stderr.strip() == (
        f"error: workflow 'orders_sync' version 1 of tenant {tenant!r} is RETIRED, which is final: apply the "
        "definition again to get a new version, then activate that one"
    )
    table = erp("workflow", "list", tenant)
    assert table.code == 0
    assert "RETIRED" in table.stdout
    assert expected_hash[:12] in table.stdout


def test_invalid_file_prints_every_problem_and_stores_nothing(
    erp: ErpCli, new_tenant: Callable[[], str], engine: Engine, tmp_path: Path
) -> None:
    tenant = new_tenant()
    insert_sdk(engine, tenant)
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("operation: list_customers", "operation: list_customer").replace(
        "timezone: Europe/Berlin", "timezone: Europe/Berln"
    ))
    result = erp("workflow", "apply", tenant, str(bad))
    assert result.code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"error: {bad}: invalid workflow definition: 2 problems",
        "  - triggers[0].timezone: unknown timezone (did you mean 'Europe/Berlin'?): use an IANA name "
        "such as 'Europe/Berlin', 'America/New_York' or 'UTC' (received: 'Europe/Berln')",
        "  - activities[1].config.operation: SDK acme_erp v1 has no operation 'list_customer': did you "
        "mean 'list_customers', 'get_customer' or 'list_orders'? (received: 'list_customer')",
    ]
    syntax = tmp_path / "syntax.yaml"
    syntax.write_text("id: x\n  activities: []\n")
    broken = erp("workflow", "apply", tenant, str(syntax))
    assert (broken.code, broken.stderr.strip()) == (
        2,
        f"error: {syntax}, line 2, column 13: invalid YAML: mapping values are not allowed here; check the "
        "indentation, and quote values that contain ': '",
    )
    missing = erp("workflow", "apply", tenant, str(tmp_path / "nope.yaml"))
    assert missing.stderr.strip() == f"error: file not found: {tmp_path / 'nope.yaml'}; check the path"
    assert erp("workflow", "list", tenant, "--json").json() == []
    bad_date = erp("workflow", "deprecate", tenant, "orders_sync", "1", "--after", "soon")
    assert bad_date.stderr.strip() == (
        "error: --after: 'soon' is not an ISO 8601 date or date-time, e.g. 2026-12-31 or "
        "2026-12-31T18:00:00+01:00 (default zone: UTC)"
    )


def test_mapping_commands_and_a_workflow_that_uses_one(
    erp: ErpCli, new_tenant: Callable[[], str], engine: Engine, tmp_path: Path
) -> None:
    tenant = new_tenant()
    insert_sdk(engine, tenant)
    mapping_file = tmp_path / "sales_map.yaml"
    mapping_file.write_text(SALES_MAP)
    wf = tmp_path / "orders.yaml"
    wf.write_text(BY_REF)

    applied = erp("mapping", "apply", tenant, str(mapping_file), "--json")
    assert applied.code == 0, applied.stderr
    body = applied.json()
    assert (body["name"], body["version"], body["created"]) == ("sales_map", 1, True)
    assert erp("workflow", "apply", tenant, str(wf), "--json").json()["version"] == 1
    not_yet = erp("workflow", "activate", tenant, "orders_sync", "1")
    assert not_yet.code == 2
    assert "mapping 'sales_map' has no ACTIVE version (newest: v1 DRAFT)" in not_yet.stderr

    assert erp("mapping", "activate", tenant, "sales_map", "1", "--json").json()["status"] == "ACTIVE"
    assert erp("workflow", "activate", tenant, "orders_sync", "1", "--json").json()["status"] == "ACTIVE"
    listed = erp("mapping", "list", tenant, "--json").json()
    assert [(m["name"], m["version"], m["status"]) for m in listed] == [("sales_map", 1, "ACTIVE")]
    shown = erp("mapping", "show", tenant, "sales_map", "--json").json()
    assert shown["mapping"]["columns"][0] == {"source": "id", "target": "order_id", "type": "bigint",
                                              "nullable": False}
    human = erp("mapping", "show", tenant, "sales_map")
    assert human.code == 0
    assert "order_id" in human.stdout
    validated = erp("workflow", "validate", tenant, str(wf), "--json")
    assert json.loads(validated.stdout) == {"valid": True, "workflow_id": "orders_sync"}


def test_scaffold_apply_and_show_print_what_each_load_writes(
    erp: ErpCli, new_tenant: Callable[[], str], engine: Engine, tmp_path: Path
) -> None:
    from tests.workflows.samples import xero_like_spec

    tenant = new_tenant()
    insert_sdk(engine, tenant, name="books", spec=xero_like_spec())
    out = tmp_path / "books.yaml"
    scaffolded = erp("workflow", "scaffold", tenant, "books", "list_contacts", "list_invoices", "-o", str(out),
                     "--param", "tenant_id=t-1")
    assert scaffolded.code == 0, scaffolded.stderr
    assert scaffolded.stdout.strip() == (
        f"wrote {out}: 2 extract(s) and load(s) from SDK books v1; apply it with `erp workflow apply {tenant} "
        f"{out}`"
    )
    assert "          - {source: \"@odata.etag\", target: odata_etag, type: text}" in out.read_text()
    again = erp("workflow", "scaffold", tenant, "books", "list_contacts", "-o", str(out))
    assert (again.code, again.stderr.strip()) == (
        2, f"error: {out} exists; pass --force to overwrite it, or choose another -o file")

    applied = erp("workflow", "apply", tenant, str(out), "--json")
    assert applied.code == 0, applied.stderr
    loads = applied.json()["loads"]
    assert loads["load_contacts"]["business_key"] == ["contact_id"]
    assert loads["load_contacts"]["mapping"]["columns"][3] == {
        "source": "@odata.etag", "target": "odata_etag", "type": "text", "nullable": True}

    derived = tmp_path / "derived.yaml"
    derived.write_text(
        "id: contacts_only\nactivities:\n"
        "  - {id: contacts, type: extract, config: {sdk: books, operation: list_contacts}}\n"
        "  - {id: load_contacts, type: load, config: {table: contacts}}\n"
        "steps:\n  - {activity: contacts}\n  - {activity: load_contacts, depends_on: [contacts]}\n"
    )
    human = erp("workflow", "apply", tenant, str(derived))
    assert human.code == 0, human.stderr
    assert (f"load load_contacts -> tenant_{tenant}.contacts: key contact_id (the SDK's primary key: ContactID); "
            "columns from every field of the input (no mapping given)") in " ".join(human.stdout.split())
    shown = erp("workflow", "show", tenant, "contacts_only", "--json").json()
    plan = shown["loads"]["load_contacts"]
    assert (plan["mapping_origin"], plan["key_origin"], plan["key_source"]) == ("derived", "sdk", ["ContactID"])
    assert [c["target"] for c in plan["mapping"]["columns"]] == [
        "contact_id", "name", "name_2", "odata_etag", "updated_date_utc", "balance", "addresses"]


def test_scaffold_refusals_exit_2_with_the_fix(erp: ErpCli, new_tenant: Callable[[], str], engine: Engine) -> None:
    tenant = new_tenant()
    insert_sdk(engine, tenant, name="books", spec=xero_like_spec_without_key())
    missing = erp("workflow", "scaffold", tenant, "books", "list_contacts", "list_invoices")
    assert missing.code == 2
    assert missing.stderr.strip() == (
        "error: cannot scaffold a workflow from SDK books v1: 2 problems\n"
        "  - operations[0]: operation 'list_contacts' declares no primary key: pass --key list_contacts=FIELD "
        "(the field(s) identifying a record, comma-separated; fields: ContactID, Name, name, @odata.etag, "
        "UpdatedDateUTC, Balance, Addresses) (received: 'list_contacts')\n"
        "  - operations[1]: operation 'list_invoices' needs parameter tenant_id: pass --param tenant_id=VALUE "
        "(received: 'list_invoices')"
    )
    fixed = erp("workflow", "scaffold", tenant, "books", "list_contacts", "--key", "list_contacts=ContactID")
    assert fixed.code == 0, fixed.stderr
    assert "      business_key: [contact_id]\n" in fixed.stdout
    no_sdk = erp("workflow", "scaffold", tenant, "ledger", "list_contacts")
    assert (no_sdk.code, no_sdk.stderr.strip()) == (
        2, f"error: tenant {tenant!r} has no SDK 'ledger' (its SDKs: books); build one with `erp sdk build "
           f"{tenant} --spec FILE --name ledger`")
    bad = erp("workflow", "scaffold", tenant, "books", "list_contacts", "--param", "oops")
    assert (bad.code, bad.stderr.strip()) == (
        2, "error: --param 'oops': write it as NAME=VALUE, e.g. --param company_id=c1")


def xero_like_spec_without_key() -> dict[str, object]:
    from tests.workflows.samples import xero_like_spec

    return xero_like_spec(primary_key=[])
