"""Invalid workflow files: every problem of a file is reported at once, each with its JSON path, what is
wrong, what to do and the received value. The SDK catalog is ``samples.CATALOG`` (acme_erp v1)."""

from __future__ import annotations

import pytest

from erp_platform.transforms import MappingSpec
from erp_platform.workflows import (
    InMemoryMappingSource,
    InvalidDefinitionError,
    load_definition,
    parse_definition,
    validate_definition,
)
from tests.workflows.samples import CATALOG, VALID

INVALID_FILES = [
    pytest.param(
        """\
id: Orders Sync
activitys: []
activities:
  - id: orders
    type: extract
    config: {sdk: acme_erp, operation: ListOrders, page_size: 0, parallel_requests: 17, extra: 1}
  - {id: fetch, type: fetch}
  - id: shape
    type: transform
    config: {steps: [{op: join, with: orders, on: {CustomerId: id}}, {op: filter}]}
  - id: load_orders
    type: load
    idempotency_strategy: maybe
    config: {table: Sales Orders, business_key: []}
steps: [{activity: orders, depends_on: orders}]
triggers:
  - {cron: "0 * * * *"}
  - {type: sensor, kind: erp_changes}
retry_policy: {max_attempts: 0, backoff_coefficient: fast}
lifecycle: {deprecated_after: next week}
""",
        [
            "id: must be a lowercase identifier: letters a-z, digits and underscores, not starting with "
            "a digit, at most 63 characters (try 'orders_sync') (received: 'Orders Sync')",
            "activities[0].config.operation: must be a lowercase identifier: letters a-z, digits and "
            "underscores, not starting with a digit, at most 63 characters (try 'list_orders') "
            "(received: 'ListOrders')",
            "activities[0].config.page_size: must be at least 1 (received: 0)",
            "activities[0].config.parallel_requests: must be at most 16 (received: 17)",
            "activities[0].config.extra: unknown field: remove or rename it; allowed fields: sdk, "
            "operation, params, page_size, incremental, cursor_field, max_pages, checkpoint_rows, parallel_requests "
            "(received: 1)",
            "activities[1]: unknown type 'fetch': use one of extract, transform, load (received: "
            "'fetch')",
            "activities[2].config.steps[1].expr: required field missing: add it",
            "activities[3].idempotency_strategy: must be 'none', 'request_id' or 'custom' (received: "
            "'maybe')",
            "activities[3].config.table: must be a lowercase identifier: letters a-z, digits and "
            "underscores, not starting with a digit, at most 63 characters (try 'sales_orders') "
            "(received: 'Sales Orders')",
            "activities[3].config.business_key: must have at least 1 item (received: [])",
            "steps[0].depends_on: must be a list (received: 'orders')",
            "retry_policy.max_attempts: must be at least 1 (received: 0)",
            "retry_policy.backoff_coefficient: must be a number (received: 'fast')",
            "triggers[0]: missing `type`: set it to one of schedule, sensor",
            "triggers[1].kind: must be 'erp_change' or 'upstream_freshness' (received: 'erp_changes')",
            "lifecycle.deprecated_after: must be an ISO 8601 date or date-time, e.g. 2026-03-31 or "
            "2026-03-31T18:00:00Z (received: 'next week')",
            "activitys: unknown field (did you mean 'activities'?): remove or rename it; allowed "
            "fields: id, description, activities, steps, retry_policy, triggers, lifecycle, "
            "compatibility, parameters (received: [])",
        ],
        id="model_shapes",
    ),
    pytest.param(
        """\
id: graph_errors
activities:
  - {id: orders, type: extract, config: {sdk: acme_erp, operation: list_orders, params: {company_id: c1}}}
  - {id: orders, type: extract, config: {sdk: acme_erp, operation: list_customers, params: {company_id: c1}}}
  - {id: unused, type: extract, config: {sdk: acme_erp, operation: list_orders, params: {company_id: c1}}}
  - {id: a, type: transform, config: {}}
  - {id: b, type: transform, config: {}}
steps:
  - {activity: orders}
  - {id: orders, activity: ordrs}
  - {activity: a, depends_on: [b, orders, orders]}
  - {activity: b, depends_on: [a, missing_step]}
  - {id: again, activity: a}
""",
        [
            "activities[1].id: duplicate activity id: activities[0] has the same id; give every "
            "activity a unique id (received: 'orders')",
            "steps[1].id: duplicate step id: steps[0] has the same id; set a unique `id` on one of them "
            "(received: 'orders')",
            "steps[1].activity: unknown activity (did you mean 'orders'?); use one of the ids under "
            "`activities`: orders, unused, a, b (received: 'ordrs')",
            "steps[4].activity: activity is already run by steps[2]: each activity becomes exactly one "
            "Dagster asset, so exactly one step may run it (received: 'a')",
            "activities[2].id: activity is not run by any step: add a step `{activity: unused}` or "
            "remove the activity (each activity becomes exactly one Dagster asset) (received: 'unused')",
            "steps[2].depends_on[2]: listed twice in depends_on: remove the repetition (received: "
            "'orders')",
            "steps[3].depends_on[1]: unknown step; depends_on lists step ids (a step's id defaults to "
            "its activity): orders, a, b, again (received: 'missing_step')",
            "steps[3].depends_on[0]: dependency cycle: a -> b -> a (each step depends on the next): "
            "remove one of these depends_on entries (received: 'a')",
        ],
        id="graph",
    ),
    pytest.param(
        """\
id: input_errors
activities:
  - {id: orders, type: extract, config: {sdk: acme_erp, operation: list_orders, params: {company_id: c1}}}
  - id: customers
    type: extract
    config: {sdk: acme_erp, operation: list_customers, params: {company_id: c1}}
  - id: enriched
    type: transform
    config:
      input: customers
      steps: [{op: join, with: customer, on: {customer_id: id}}, {op: join, with: orders, on: {id: id}}]
  - {id: lonely, type: transform, config: {}}
  - id: load_both
    type: load
    config: {table: t1, business_key: [id], mapping: {columns: [{source: id, target: id, type: bigint}]}}
  - id: load_nothing
    type: load
    config: {table: t2, business_key: [id], mapping: {columns: [{source: id, target: id, type: bigint}]}}
  - id: load_wrong
    type: load
    config:
      input: lonely
      table: t3
      business_key: [id]
      mapping: {columns: [{source: id, target: id, type: bigint}]}
steps:
  - {activity: orders}
  - {activity: customers}
  - {activity: enriched, depends_on: [orders]}
  - {activity: lonely}
  - {activity: load_both, depends_on: [orders, customers]}
  - {activity: load_nothing}
  - {activity: load_wrong, depends_on: [enriched]}
""",
        [
            "activities[2].config.input: activity 'customers' is not an input of this step (its inputs: "
            "orders): add step 'customers' to the depends_on of steps[2] ('enriched') (received: "
            "'customers')",
            "activities[2].config.steps[0].with: unknown activity (did you mean 'customers'?): the "
            "joined activity must be one of this step's inputs (orders) (received: 'customer')",
            "steps[3].depends_on: transform 'lonely' has no input: list the step whose output it reads "
            "in depends_on (received: [])",
            "activities[4].config.input: load 'load_both' depends on 2 activities (orders, customers), "
            "so its input is ambiguous: set `input` to the one whose output it loads",
            "steps[5].depends_on: load 'load_nothing' has no input: list the step whose output it reads "
            "in depends_on (received: [])",
            "activities[6].config.input: activity 'lonely' is not an input of this step (its inputs: "
            "enriched): add step 'lonely' to the depends_on of steps[6] ('load_wrong') (received: "
            "'lonely')",
        ],
        id="inputs",
    ),
    pytest.param(
        """\
id: side_effects
activities:
  - id: invoice
    type: extract
    side_effect: true
    config: {sdk: acme_erp, operation: create_invoice, params: {company_id: c1}}
  - id: load_orders
    type: load
    idempotency_strategy: none
    config: {table: t, business_key: [id], mapping: {columns: [{source: id, target: id, type: bigint}]}}
steps:
  - {activity: invoice}
  - {activity: load_orders, depends_on: [invoice]}
""",
        [
            "activities[0].idempotency_strategy: extract 'invoice' has side effects (side_effect: "
            "true), so a retried attempt could repeat them: set idempotency_strategy to request_id (the "
            "ERP de-duplicates by an idempotency key) or custom (the activity is idempotent by "
            "construction) (received: 'none')",
            "activities[1].idempotency_strategy: load 'load_orders' has side effects (side_effect: "
            "true), so a retried attempt could repeat them: set idempotency_strategy to request_id (the "
            "ERP de-duplicates by an idempotency key) or custom (the activity is idempotent by "
            "construction) (received: 'none')",
        ],
        id="side_effects",
    ),
    pytest.param(
        """\
id: trigger_errors
activities:
  - {id: orders, type: extract, config: {sdk: acme_erp, operation: list_orders, params: {company_id: c1}}}
  - {id: shaped, type: transform, config: {}}
steps: [{activity: orders}, {activity: shaped, depends_on: [orders]}]
triggers:
  - {type: schedule, cron: "0 0 * * * *"}
  - {type: schedule, cron: "61 * * * *", timezone: Europe/Berln}
  - {type: schedule, cron: "0 0 31 2 *", timezone: Mars/Olympus}
  - {type: sensor, kind: erp_change}
  - {type: sensor, kind: erp_change, activity: shaped}
  - {type: sensor, kind: erp_change, activity: orders, upstream_workflow: other}
  - {type: sensor, kind: upstream_freshness}
  - {type: sensor, kind: upstream_freshness, upstream_workflow: trigger_errors, activity: orders}
lifecycle: {deprecated_after: "2026-06-01T00:00:00Z", force_cancel_after: "2026-05-01T00:00:00Z"}
""",
        [
            "triggers[0].cron: a cron expression has five fields (minute hour day-of-month month "
            "day-of-week), this one has 6: e.g. '0 * * * *' for every hour, '*/15 6-18 * * 1-5' for "
            "every 15 minutes on weekdays (received: '0 0 * * * *')",
            "triggers[1].cron: invalid cron expression: each of the five fields (minute 0-59, hour "
            "0-23, day-of-month 1-31, month 1-12, day-of-week 0-6) takes *, a number, a range a-b, a "
            "list a,b or a step */n (received: '61 * * * *')",
            "triggers[1].timezone: unknown timezone (did you mean 'Europe/Berlin'?): use an IANA name "
            "such as 'Europe/Berlin', 'America/New_York' or 'UTC' (received: 'Europe/Berln')",
            "triggers[2].cron: this schedule never fires (no such date, e.g. 31 February): fix the "
            "day-of-month or month (received: '0 0 31 2 *')",
            "triggers[2].timezone: unknown timezone: use an IANA name such as 'Europe/Berlin', "
            "'America/New_York' or 'UTC' (received: 'Mars/Olympus')",
            "triggers[3].activity: an erp_change sensor needs `activity`: the extract to watch (orders)",
            "triggers[4].activity: activity 'shaped' is a transform: an erp_change sensor watches an "
            "extract (received: 'shaped')",
            "triggers[5].upstream_workflow: only upstream_freshness sensors follow a workflow: remove "
            "it (received: 'other')",
            "triggers[5].activity: extract 'orders' is not incremental: set `incremental: true` on it "
            "(the sensor polls its change cursor) (received: 'orders')",
            "triggers[6].upstream_workflow: an upstream_freshness sensor needs upstream_workflow: the "
            "id of the workflow to follow",
            "triggers[7].upstream_workflow: a workflow cannot follow itself: name another workflow of "
            "this tenant (received: 'trigger_errors')",
            "triggers[7].activity: only erp_change sensors watch an activity: remove it (received: "
            "'orders')",
            "lifecycle.force_cancel_after: is before deprecated_after (2026-06-01T00:00:00+00:00): "
            "running executions are cancelled only after the version is deprecated, so set it on or "
            "after deprecated_after (received: '2026-05-01T00:00:00+00:00')",
        ],
        id="triggers_and_lifecycle",
    ),
    pytest.param(
        """\
id: catalog_errors
activities:
  - {id: a1, type: extract, config: {sdk: acme, operation: list_orders}}
  - {id: a2, type: extract, config: {sdk: acme_erp, operation: list_order, params: {company_id: c1}}}
  - {id: a3, type: extract, config: {sdk: acme_erp, operation: create_invoice, params: {company_id: c1}}}
  - id: a4
    type: extract
    config: {sdk: acme_erp, operation: get_customer, incremental: true, params: {company: c1, _since: x}}
  - id: a5
    type: extract
    config: {sdk: acme_erp, operation: list_orders, params: {company_id: c1, status: open, limit: 5}}
compatibility: {required_capabilities: ["read:orders", "write:order"]}
""",
        [
            "activities[3].config.params._since: reserved parameter: set `incremental: true` on the "
            "extract instead (received: '_since')",
            "activities[0].config.sdk: unknown SDK (did you mean 'acme_erp'?); this tenant's SDKs: "
            "acme_erp (build one with `erp sdk build`) (received: 'acme')",
            "activities[1].config.operation: SDK acme_erp v1 has no operation 'list_order': did you "
            "mean 'list_orders' or 'list_customers'? (received: 'list_order')",
            "activities[2].config.operation: 'create_invoice' is a POST operation, but an extract reads "
            "a collection with GET: choose a collection read, or, to call it on purpose, set "
            "side_effect: true and idempotency_strategy: request_id (received: 'create_invoice')",
            "activities[3].config.operation: 'get_customer' is a single-record operation, but an "
            "extract reads a collection with GET: choose a collection read, or, to call it on purpose, "
            "set side_effect: true and idempotency_strategy: request_id (received: 'get_customer')",
            "activities[3].config.incremental: operation 'get_customer' of SDK acme_erp v1 does not "
            "support incremental reads (its spec has no change-tracking field): set incremental: false "
            "(received: True)",
            "activities[3].config.params.company: unknown parameter (did you mean 'company_id'?): "
            "operation 'get_customer' takes company_id, customer_id (received: 'company')",
            "activities[3].config.params: missing required parameter 'company_id' of operation "
            "'get_customer': add it under params",
            "activities[3].config.params: missing required parameter 'customer_id' of operation "
            "'get_customer': add it under params",
            "activities[4].config.params.limit: unknown parameter: operation 'list_orders' takes "
            "company_id, status (received: 'limit')",
            "compatibility.required_capabilities[1]: capability not offered by the SDKs this workflow "
            "uses (acme_erp v1) (did you mean 'read:orders'?): remove it or use an SDK version that "
            "offers it (received: 'write:order')",
        ],
        id="catalog",
    ),
    pytest.param(
        """\
id: pinned
activities:
  - {id: orders, type: extract, config: {sdk: acme_erp, operation: list_orders, params: {company_id: c1}}}
compatibility: {required_sdk_version: 7}
""",
        [
            "compatibility.required_sdk_version: SDK 'acme_erp' has no version 7 (versions: v1 ACTIVE): "
            "set required_sdk_version to one of them or remove it (received: 7)",
        ],
        id="sdk_version",
    ),
    pytest.param(
        """\
id: implicit_steps
activities:
  - {id: orders, type: extract, config: {sdk: acme_erp, operation: list_orders, params: {company_id: c1}}}
  - {id: shaped, type: transform, config: {steps: [{op: select, columns: [id]}]}}
compatibility: {required_sdk_version: 1, required_capabilities: ["write:invoices"]}
""",
        [
            "steps: transform 'shaped' has no input: without `steps` every activity runs on its own; "
            "add steps and list the step it reads in its depends_on",
        ],
        id="no_steps",
    ),
    pytest.param(
        """\
id: mapping_errors
activities:
  - {id: orders, type: extract, config: {sdk: acme_erp, operation: list_orders, params: {company_id: c1}}}
  - {id: by_ref, type: load, config: {table: t1, business_key: [id], mapping_ref: order_map}}
  - id: inline
    type: load
    config:
      table: t2
      business_key: [order_id, id]
      mapping:
        columns:
          - {source: id, target: order_id, type: bigint}
          - {source: status, target: state, type: text}
steps:
  - {activity: orders}
  - {activity: by_ref, depends_on: [orders]}
  - {activity: inline, depends_on: [orders]}
""",
        [
            "activities[1].config.mapping_ref: unknown mapping; this tenant has no mapping yet (store "
            "one with `erp mapping apply`) (received: 'order_map')",
            "activities[2].config.business_key[1]: column 'order_id' is in the business key twice (source "
            "field 'id' is mapped to it) (received: 'id')",
        ],
        id="mappings",
    ),
    pytest.param(
        """\
id: type_errors
activities:
  - {id: orders, type: extract, config: {sdk: acme_erp, operation: list_orders, params: {company_id: c1}}}
  - id: shaped
    type: transform
    config: {steps: [{op: filter, expr: "statuz = 'open'"}]}
  - id: load_orders
    type: load
    config:
      table: t
      business_key: [order_id]
      mapping:
        columns:
          - {source: id, target: order_id, type: bigint}
          - {source: total, target: paid, type: boolean}
          - {source: customer, target: customer, type: text}
  - id: load_shaped
    type: load
    config: {table: t2, business_key: [id], mapping: {columns: [{source: id, target: id, type: bigint}]}}
steps:
  - {activity: orders}
  - {activity: shaped, depends_on: [orders]}
  - {activity: load_orders, depends_on: [orders]}
  - {activity: load_shaped, depends_on: [shaped]}
""",
        [
            "activities[1].config.steps[0].expr: unknown column 'statuz' (did you mean status?): available "
            'columns are id, customer_id, status, total, updated_at (at character 1) (received: "statuz = '
            '\'open\'")',
            "activities[2].config.mapping.columns[1].type: cannot map numeric(38,10) field 'total' to "
            "boolean: only text and integers (0/1) convert to boolean; derive a boolean first, e.g. "
            "amount > 0 (received: 'boolean')",
            "activities[2].config.mapping.columns[2].source: unknown source field 'customer' (did you mean "
            "'customer_id'?); the input's fields (exact names): customer_id, id, status, total, updated_at; "
            "write the source exactly as listed (received: 'customer')",
        ],
        id="types",
    ),
    pytest.param(
        """\
id: out_of_range
activities:
  - {id: orders, type: extract, config: {sdk: acme_erp, operation: list_orders, params: {company_id: c1}}}
  - id: shaped
    type: transform
    config:
      steps:
        - {op: derive, column: huge, expr: "id * 99999999999999999999"}
        - {op: derive, column: wide, expr: "total * 1234567890123456789012345678901234567890.5"}
steps:
  - {activity: orders}
  - {activity: shaped, depends_on: [orders]}
""",
        [
            "activities[1].config.steps[0].expr: the integer 99999999999999999999 is out of range: integers "
            "go from -9223372036854775808 to 9223372036854775807; write a larger number with a decimal point, "
            "e.g. 1e20 as 100000000000000000000.0 (at character 6) (received: 'id * 99999999999999999999')",
            "activities[1].config.steps[1].expr: the number 1234567890123456789012345678901234567890.5 has 41 "
            "digits; numbers hold at most 38 (numeric(38,s), counting those after the point): drop digits "
            "after the point or scale the value (at character 9) (received: "
            "'total * 1234567890123456789012345678901234567890.5')",
        ],
        id="out-of-range-numbers",
    ),
]


@pytest.mark.parametrize(("text", "expected"), INVALID_FILES)
def test_invalid_file_reports_every_problem(text: str, expected: list[str]) -> None:
    with pytest.raises(InvalidDefinitionError) as info:
        load_definition(text, filename="wf.yaml", catalog=CATALOG, mappings=InMemoryMappingSource({}))
    assert [p.render() for p in info.value.problems] == expected
    count = len(expected)
    assert str(info.value).startswith(
        f"wf.yaml: invalid workflow definition: {count} problem{'s' if count != 1 else ''}\n  - "
    )


def test_valid_sample_passes_every_check() -> None:
    definition = load_definition(VALID, filename="valid.yaml", catalog=CATALOG)
    assert definition.id == "orders_sync"
    assert [a.id for a in definition.activities] == ["orders", "customers", "enriched", "load_orders"]


def test_without_catalog_only_catalog_free_rules_run() -> None:
    definition = parse_definition(VALID.replace("sdk: acme_erp", "sdk: not_there"), filename="x.yaml")
    assert validate_definition(definition) == []
    problems = validate_definition(definition, catalog=CATALOG)
    assert [p.path for p in problems] == ["activities[0].config.sdk", "activities[1].config.sdk"]


def test_stored_mapping_is_type_checked_under_its_reference() -> None:
    text = VALID.replace(
        """      mapping:
        columns:
          - {source: id, target: order_id, type: bigint, nullable: false}
          - {source: customer_name, target: customer, type: text}
          - {source: total, target: amount, type: "numeric(12,2)"}
""",
        "      mapping_ref: sales_orders_map\n",
    )
    good = MappingSpec.model_validate({"columns": [
        {"source": "id", "target": "order_id", "type": "bigint"},
        {"source": "customer_name", "target": "customer", "type": "text"},
    ]})
    assert validate_definition(parse_definition(text, filename="ref.yaml"), catalog=CATALOG,
                               mappings=InMemoryMappingSource({"sales_orders_map": good})) == []
    bad = MappingSpec.model_validate({"columns": [
        {"source": "id", "target": "order_id", "type": "bigint"},
        {"source": "customer", "target": "customer", "type": "text"},
    ]})
    problems = validate_definition(parse_definition(text, filename="ref.yaml"), catalog=CATALOG,
                                   mappings=InMemoryMappingSource({"sales_orders_map": bad}))
    assert len(problems) == 1
    assert problems[0].path == "activities[3].config.mapping_ref"
    assert problems[0].message.startswith(
        "mapping 'sales_orders_map': columns[1].source: unknown source field 'customer' (did you mean "
        "'customer_id'?); the input's fields (exact names): customer_id, id, status, total, updated_at, "
        "customer_name; write the source exactly as listed"
    )


def test_a_join_key_named_on_survives_yaml() -> None:
    """PyYAML's YAML 1.1 would turn the `on:` key into True; the 1.2 core schema keeps it a string."""
    definition = parse_definition(VALID, filename="valid.yaml")
    join = definition.activities[2].config.steps[1]  # type: ignore[union-attr]
    assert join.on == {"customer_id": "id"}
