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
