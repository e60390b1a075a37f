"""Assistant evaluation: the intents of benchmarks/assistant_eval.yaml (mock ERP + published specs).

For the mock ERP (its SDK built, compiled to WebAssembly and ACTIVE in a throwaway tenant) every intent goes
through the whole draft loop twice: offline (no model: intent parser + offline mapper) and with the scripted
model replaying a tool-use transcript (catalog reads, mapper, submission, and for some intents a realistic
mistake that the problems returned make it repair). For the published specs in ../shared/specs (no ERP
answers for them here) the operation an intent resolves to and the offline mapper are measured. For
real-spec intents (``real:``) the SDK is built from a corpus spec (Xero Accounting, SAP's OData test
service) with its base URL at a server answering for it (Stoplight Prism, or an OData service built from
the EDMX), and the whole draft loop runs as for the mock ERP: the draft must use the ERP's exact field
names, the builder's primary key and its change cursor.

Prints per intent and in total: offline mapper precision and recall on the hand-labelled mappings (beside a
naive exact-name mapper), drafts valid first time and after repairs, invented fields in drafts (must be 0),
dry-run pass rate, median time per draft, and tokens per draft (scripted transcript, 4 characters a token).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import yaml
from _common import ROOT, table

from assistant import (
    Assistant,
    AssistantSettings,
    CatalogView,
    ColumnView,
    ModelRequest,
    ModelResponse,
    ScriptedModel,
    TableView,
    ToolResult,
    catalog_from_specs,
    invented_names,
    load_catalog,
    parse_intent,
    propose_mapping,
    resolve_operation,
)
from erp_platform._platform import Platform
from erp_platform.config import load_settings
from erp_platform.mock_erp import MockErpConfig, MockErpServer, TenantAuth
from erp_platform.registry import migrate
from erp_platform.sdks import SdkService
from erp_platform.workflows import WorkflowDefinition
from sdk_builder import load_spec
from tests.support.database import fresh_database
from tests.support.specs import SHARED_SPECS

HERE = Path(__file__).resolve().parent
TENANT = "bench_ai"
TOKEN = "tok-bench-assistant"


# -- scoring -------------------------------------------------------------------------------------------------
def _pr(predicted: set[tuple[str, str]], labelled: set[tuple[str, str]]) -> tuple[int, int, int]:
    """(true positives, predicted, labelled)."""
    return len(predicted & labelled), len(predicted), len(labelled)


def _naive(op_fields: list[str], columns: list[str]) -> set[tuple[str, str]]:
    """Baseline: a column takes the field with the same name, ignoring case and underscores."""
    key = {f.lower().replace("_", ""): f for f in op_fields}
    return {(c, key[c.lower().replace("_", "")]) for c in columns if c.lower().replace("_", "") in key}


def _pr_text(counts: tuple[int, int, int]) -> str:
    return f"{_ratio(counts[0], counts[1])}/{_ratio(counts[0], counts[2])}"


def _ratio(num: int, den: int) -> str:
    return f"{num / den:.2f}" if den else "-"


def _elements(definition: dict[str, Any], expect: dict[str, Any]) -> list[str]:
    """Expected workflow elements the draft misses (empty: all there)."""
    wrong = []
    extracts = [a for a in definition["activities"] if a["type"] == "extract"]
    loads = [a for a in definition["activities"] if a["type"] == "load"]
    triggers = definition.get("triggers", [])
    if "workflow" in expect and definition["id"] != expect["workflow"]:
        wrong.append("workflow")
    if "operation" in expect and expect["operation"] not in [e["config"]["operation"] for e in extracts]:
        wrong.append("operation")
    if "table" in expect and expect["table"] not in [ld["config"]["table"] for ld in loads]:
        wrong.append("table")
    if "business_key" in expect and expect["business_key"] not in [ld["config"]["business_key"] for ld in loads]:
        wrong.append("business_key")
    if "cron" in expect and expect["cron"] not in [t.get("cron") for t in triggers]:
        wrong.append("cron")
    if expect.get("sensor") and not any(t.get("kind") == "erp_change" for t in triggers):
        wrong.append("sensor")
    if expect.get("incremental") and not any(e["config"].get("incremental") for e in extracts):
        wrong.append("incremental")
    if "cursor" in expect and expect["cursor"] not in [e["config"].get("cursor_field") for e in extracts]:
        wrong.append("cursor")
    return wrong


# -- published specs ------------------------------------------------------------------------------------------
def _spec_catalog(path: str, cache: dict[str, tuple[str, dict[str, Any]]]) -> tuple[str, dict[str, Any]]:
    if path not in cache:
        file = SHARED_SPECS / path
        parsed = load_spec(file.read_bytes(), filename=file.name, base_url="https://erp.example.com/api/")
        cache[path] = (parsed.spec.name, parsed.spec.model_dump(mode="json"))
    return cache[path]


def _table_view(name: str, columns: dict[str, str]) -> TableView:
    return TableView(name=name, columns=tuple(
        ColumnView(name=c, type=t.replace(" pk", ""), primary_key=t.endswith(" pk")) for c, t in columns.items()))


def eval_specs(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    cache: dict[str, tuple[str, dict[str, Any]]] = {}
    rows = []
    for item in items:
        name, dump = _spec_catalog(item["spec"], cache)
        intent = parse_intent(item["text"])
        assert intent is not None, item["id"]
        target = _table_view(intent.table or "t", item["table"])
        catalog = catalog_from_specs("bench", [(name, 1, dump)], [target])
        ranked = resolve_operation(intent.entity, catalog, intent.params)
        resolved = ranked[0][1].name if ranked else None
        op = catalog.operation(name, item["expect"]["operation"])
        assert op is not None, item["id"]
        proposal = propose_mapping(op, target.name, target)
        labelled = set(item["mapping"].items())
        predicted = {(c.target, c.source) for c in proposal.columns}
        naive = _naive([f.name for f in op.fields], [c.name for c in target.columns])
        rows.append({"id": item["id"], "sdk": name, "operation_ok": resolved == item["expect"]["operation"],
                     "resolved": resolved, "mapper": _pr(predicted, labelled), "naive": _pr(naive, labelled),
                     "wrong_pairs": sorted(predicted - labelled), "missed": sorted(labelled - predicted)})
    return rows


# -- mock ERP ------------------------------------------------------------------------------------------------
def _mistake(definition: dict[str, Any], kind: str) -> dict[str, Any]:
    """The same definition with one realistic mistake of a model: an invented field, an operation that does not
    exist, or a business key that is not a mapped column."""
    wrong = copy.deepcopy(definition)
    extract = next(a for a in wrong["activities"] if a["type"] == "extract")
    load = next((a for a in wrong["activities"] if a["type"] == "load"), None)
    if kind == "field" and load is not None:
        column = load["config"]["mapping"]["columns"][1]
        column["source"] = f"{column['source']}_value"
    elif kind == "operation":
        extract["config"]["operation"] = extract["config"]["operation"].replace("items", "products")
    elif kind == "key" and load is not None:
        load["config"]["business_key"] = ["row_id"]
    return wrong


def _script(definition: dict[str, Any], item: dict[str, Any], mistake: str | None) -> ScriptedModel:
    extract = next(a for a in definition["activities"] if a["type"] == "extract")["config"]
    load = next((a for a in definition["activities"] if a["type"] == "load"), None)
    steps: list[Any] = [
        ScriptedModel.call("list_catalog", {}),
        ScriptedModel.call("describe_operation", {"sdk": extract["sdk"], "operation": extract["operation"]}),
    ]
    if "workflow" in item["expect"]:
        steps.append(ScriptedModel.call("get_workflow", {"workflow_id": item["expect"]["workflow"]}))
    elif load is not None:
        steps.append(ScriptedModel.call("propose_mapping", {"sdk": extract["sdk"], "operation": extract["operation"],
                                                            "table": load["config"]["table"]}))
    first = _mistake(definition, mistake) if mistake else definition
    steps.append(ScriptedModel.call("submit_workflow", {"definition": first,
                                                        "explanation": f"draft for: {item['text']}"}))
    if mistake:
        def repair(request: ModelRequest) -> ModelResponse:
            result = request.messages[-1].content[-1]
            assert isinstance(result, ToolResult) and result.is_error, "the mistake was not reported"
            return ScriptedModel.call("submit_workflow", {"definition": definition})

        steps.append(repair)
    steps.append(ScriptedModel.say(f"Draft ready: {definition['id']}. Review the diff and activate it if right."))
    return ScriptedModel(steps)


def _evaluate_draft(turn: Any, item: dict[str, Any], catalog: CatalogView, labels: dict[str, Any],
                    sdk: str = "mock_erp") -> dict[str, Any]:
    draft = turn.draft
    valid = draft is not None and draft.status == "VALID"
    definition = draft.definition if draft is not None else None
    out: dict[str, Any] = {"valid": valid, "missing": ["draft"] if definition is None else []}
    if definition is None:
        return out
    out["missing"] = _elements(definition, item["expect"])
    parsed = WorkflowDefinition.model_validate(definition)
    out["invented"] = len(invented_names(parsed, catalog)) if valid else 0
    dry = draft.report.get("dry_run") or {}
    out["dry_run_ok"] = valid and bool(dry.get("loads")) and all(e["records"] > 0 for e in dry.get("extracts", []))
    label = labels.get(item.get("label", ""))
    if label is not None:
        load = next(a for a in definition["activities"] if a["type"] == "load")
        predicted = {(c["target"], c["source"]) for c in load["config"]["mapping"]["columns"]}
        out["mapper"] = _pr(predicted, set(label.items()))
        op = catalog.operation(sdk, item["expect"]["operation"])
        assert op is not None
        target = catalog.table(item["label"])
        assert target is not None
        out["naive"] = _pr(_naive([f.name for f in op.fields], [c.name for c in target.columns]), set(label.items()))
    return out


def _scripted_run(plat: Platform, sdks: SdkService, settings: AssistantSettings, tenant: str, item: dict[str, Any],
                  definition: dict[str, Any], catalog: CatalogView, labels: dict[str, Any], sdk: str,
                  row: dict[str, Any]) -> None:
    """The same intent through the scripted model's transcript (with the item's mistake to repair, if any)."""
    model = _script(definition, item, item.get("mistake"))
    assistant = Assistant(plat.engine, sdks, settings=settings, model=model)
    started = time.perf_counter()
    scripted = assistant.draft(tenant, item["text"])
    row["scripted_seconds"] = time.perf_counter() - started
    row["scripted"] = _evaluate_draft(scripted, item, catalog, labels, sdk)
    row["scripted"]["first_time"] = scripted.submissions == 1 and row["scripted"]["valid"]
    row["scripted"]["tokens"] = scripted.usage.total
    row["scripted"]["rounds"] = scripted.rounds
    row["scripted"]["repairs"] = scripted.draft.repairs if scripted.draft else None


def eval_mock(data: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    home = Path(tempfile.mkdtemp(prefix="erp-bench-assistant-"))
    rows: list[dict[str, Any]] = []
    with fresh_database("erp_bench_assistant") as url:
        settings = load_settings(home=home, database_url=url)
        auth = {"acme": TenantAuth(token=TOKEN, api_key="key-bench")}
        with Platform(settings) as plat, MockErpServer(MockErpConfig(tenants=auth, rows=200, seed=3)) as mock:
            migrate(plat.engine)
            plat.tenants.create(TENANT, "enterprise")
            plat.credentials.set(TENANT, "token", TOKEN, sdk="mock_erp")
            plat.credentials.set(TENANT, "x_erp_tenant", "acme", sdk="mock_erp")
            plat.tenants.allow_private_egress(TENANT, f"127.0.0.1:{mock.port}")
            sdks = SdkService(plat.engine, plat.objects, plat.credentials, cache_dir=ROOT / ".erp" / "cache" / "wasm")
            spec = httpx.get(f"{mock.base_url}/openapi.json", timeout=30).content
            built = sdks.build(TENANT, spec, filename="openapi.json", name="mock_erp")
            sdks.activate(TENANT, built.name, built.version)
            from sqlalchemy import text as sql

            with plat.engine.begin() as conn:
                conn.execute(sql(f'SET LOCAL search_path TO "tenant_{TENANT}"'))
                for name, columns in data["tables"].items():
                    conn.execute(sql(f"CREATE TABLE {name} ({columns})"))
            base_settings = AssistantSettings(api_key_env="ERP_BENCH_NO_KEY", dry_run_rows=20)
            offline = Assistant(plat.engine, sdks, settings=base_settings)
            for text_ in data["base"]:
                turn = offline.draft(TENANT, text_, offline=True)
                assert turn.draft is not None and turn.draft.status == "VALID", turn.reply
                offline.activate(TENANT, turn.draft.id)
            catalog = load_catalog(plat.engine, TENANT)
            for item in items:
                started = time.perf_counter()
                turn = offline.draft(TENANT, item["text"], offline=True)
                offline_seconds = time.perf_counter() - started
                row: dict[str, Any] = {"id": item["id"], "text": item["text"],
                                       "offline": _evaluate_draft(turn, item, catalog, data["labels"]),
                                       "offline_seconds": offline_seconds}
                if turn.draft is not None and turn.draft.status == "VALID":
                    _scripted_run(plat, sdks, base_settings, TENANT, item, turn.draft.definition, catalog,
                                  data["labels"], "mock_erp", row)
                else:
                    row["reply"] = turn.reply
                rows.append(row)
    return rows


# -- real ERP specs, served -----------------------------------------------------------------------------------
TESTED_OPERATIONS = 5  # sandbox tests per build (every operation is tested in tests/sdks)


def _credential_value(headers: dict[str, str], name: str, wire_name: str) -> str:
    """The corpus manifest's header value for header credentials (xero-tenant-id), else a placeholder."""
    for header, value in headers.items():
        if header.lower() == wire_name.lower():
            return value
    return f"bench-{name}-value"


def _create_table(plat: Platform, tenant: str, name: str, columns: dict[str, str]) -> None:
    from sqlalchemy import text as sql

    keys = [c for c, t in columns.items() if t.endswith(" pk")]
    body = ", ".join(f"{c} {t.removesuffix(' pk')}" for c, t in columns.items())
    with plat.engine.begin() as conn:
        conn.execute(sql(f'SET LOCAL search_path TO "tenant_{tenant}"'))
        conn.execute(sql(f"CREATE TABLE {name} ({body}, PRIMARY KEY ({', '.join(keys)}))"))


def eval_real(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The whole draft loop on SDKs built from corpus specs, against Prism or an OData service."""
    from contextlib import ExitStack

    from tests.e2e_real.odata_server import ODataServer
    from tests.support.corpus import load_corpus
    from tests.support.prism import PrismPool

    home = Path(tempfile.mkdtemp(prefix="erp-bench-assistant-real-"))
    rows: list[dict[str, Any]] = []
    with fresh_database("erp_bench_assistant_real") as url, ExitStack() as stack:
        plat = stack.enter_context(Platform(load_settings(home=home, database_url=url)))
        migrate(plat.engine)
        (home / "prism").mkdir(parents=True, exist_ok=True)
        pool = PrismPool(log_dir=home / "prism")
        stack.callback(pool.stop_all)
        sdks = SdkService(plat.engine, plat.objects, plat.credentials, cache_dir=ROOT / ".erp" / "cache" / "wasm",
                          max_tested_operations=TESTED_OPERATIONS)
        settings = AssistantSettings(api_key_env="ERP_BENCH_NO_KEY", dry_run_rows=20)
        offline = Assistant(plat.engine, sdks, settings=settings)
        built: dict[str, tuple[str, str]] = {}
        for spec_id in sorted({i["real"] for i in items}):
            entry = load_corpus().get(spec_id)
            if entry.prism != "none":
                server = pool.get(entry)
                base_url, host_port = server.url, server.host_port
            else:
                odata = stack.enter_context(ODataServer(entry.file))
                base_url, host_port = odata.url, odata.host_port
            tenant = f"bench_{spec_id}"[:40]
            plat.tenants.create(tenant, "enterprise")
            plat.tenants.allow_private_egress(tenant, host_port)
            info = sdks.build(tenant, entry.file, base_url=base_url)
            assert info.status == "TESTING", f"{spec_id}: {info.test_summary()}"
            for cred in info.credentials:
                value = _credential_value(entry.headers, cred.name, cred.wire_name)
                plat.credentials.set(tenant, cred.name, value, sdk=info.name)
            sdks.activate(tenant, info.name, info.version)
            for item in items:
                intent = parse_intent(item["text"])
                if item["real"] == spec_id and "table" in item and intent is not None and intent.table:
                    _create_table(plat, tenant, intent.table, item["table"])
            built[spec_id] = (tenant, info.name)
        for item in items:
            tenant, sdk = built[item["real"]]
            catalog = load_catalog(plat.engine, tenant)
            intent = parse_intent(item["text"])
            table_name = intent.table if intent is not None and intent.table else ""
            labelled = {**item, "label": table_name} if "mapping" in item else item
            labels = {table_name: item["mapping"]} if "mapping" in item else {}
            started = time.perf_counter()
            turn = offline.draft(tenant, item["text"], offline=True)
            row: dict[str, Any] = {"id": item["id"], "sdk": sdk, "text": item["text"],
                                   "offline": _evaluate_draft(turn, labelled, catalog, labels, sdk),
                                   "offline_seconds": time.perf_counter() - started}
            draft = turn.draft
            if draft is not None and draft.status == "VALID":
                loads = (draft.report.get("dry_run") or {}).get("loads") or [{}]
                row["dry_rows"] = len(loads[0].get("rows", []))
                _scripted_run(plat, sdks, settings, tenant, labelled, draft.definition, catalog, labels, sdk, row)
            else:
                row["reply"] = turn.reply
            rows.append(row)
    return rows


# -- report -------------------------------------------------------------------------------------------------
def _sum(pairs: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    return (sum(p[0] for p in pairs), sum(p[1] for p in pairs), sum(p[2] for p in pairs))


def report_real(real: list[dict[str, Any]]) -> None:
    """The real-spec intents: per intent, then totals."""
    if not real:
        return
    table("real ERP specs (whole draft loop against Prism / an OData service)",
          ["id", "sdk", "offline", "missing", "dry-run rows", "mapper P/R", "scripted", "repairs", "invented",
           "offline s"],
          [[r["id"], r["sdk"][:24], "valid" if r["offline"]["valid"] else "INVALID",
            ",".join(r["offline"]["missing"]) or "-", r.get("dry_rows", "-"),
            _pr_text(r["offline"]["mapper"]) if "mapper" in r["offline"] else "-",
            ("valid" if r["scripted"]["valid"] else "INVALID") if "scripted" in r else "-",
            r.get("scripted", {}).get("repairs", "-"),
            r["offline"].get("invented", 0) + r.get("scripted", {}).get("invented", 0),
            f"{r['offline_seconds']:.2f}"] for r in real])
    n = len(real)
    scripted = [r["scripted"] for r in real if "scripted" in r]
    mapper = _sum([r["offline"]["mapper"] for r in real if "mapper" in r["offline"]])
    table("real ERP specs: totals", ["measure", "value"], [
        ["intents", str(n)],
        ["offline drafts valid (validated, compiled, dry-run)", f"{sum(r['offline']['valid'] for r in real)} / {n}"],
        ["offline drafts with every expected element (incl. builder's key and cursor)",
         f"{sum(not r['offline']['missing'] for r in real)} / {n}"],
        ["offline mapper precision / recall (labelled existing tables)",
         f"{_ratio(mapper[0], mapper[1])} / {_ratio(mapper[0], mapper[2])} ({mapper[0]} of {mapper[2]} labelled)"],
        ["scripted drafts valid first time / after repairs",
         f"{sum(s['first_time'] for s in scripted)} / {sum(s['valid'] for s in scripted)} of {len(scripted)}"],
        ["invented fields in drafts",
         str(sum(r["offline"].get("invented", 0) for r in real) + sum(s.get("invented", 0) for s in scripted))],
        ["dry-run pass rate", f"{sum(bool(r['offline'].get('dry_run_ok')) for r in real)} / {n}"],
        ["median time per draft, offline", f"{statistics.median(r['offline_seconds'] for r in real):.2f} s"],
    ])
    for r in real:
        if "reply" in r:
            parts = r["reply"].split("the draft has problems", 1)
            shown = "the draft has problems" + parts[1] if len(parts) > 1 else r["reply"]
            print(f"  {r['id']} not drafted: {shown[:1200]}")


def report(mock: list[dict[str, Any]], specs: list[dict[str, Any]]) -> None:
    table("mock ERP intents (full draft loop)", ["id", "offline", "missing", "dry run", "mapper P/R", "scripted",
                                                  "repairs", "tokens", "offline s", "scripted s"],
          [[r["id"], "valid" if r["offline"]["valid"] else "INVALID", ",".join(r["offline"]["missing"]) or "-",
            "ok" if r["offline"].get("dry_run_ok") else "-",
            _pr_text(r["offline"]["mapper"]) if "mapper" in r["offline"] else "-",
            ("valid" if r["scripted"]["valid"] else "INVALID") if "scripted" in r else "-",
            r.get("scripted", {}).get("repairs", "-"), r.get("scripted", {}).get("tokens", "-"),
            f"{r['offline_seconds']:.2f}", f"{r['scripted_seconds']:.2f}" if "scripted_seconds" in r else "-"]
           for r in mock])
    table("published specs (operation resolution + offline mapper)", ["id", "sdk", "operation", "mapper P/R",
                                                                     "naive P/R", "wrong pairs", "missed"],
          [[r["id"], r["sdk"][:24], "ok" if r["operation_ok"] else f"WRONG ({r['resolved']})",
            f"{_ratio(r['mapper'][0], r['mapper'][1])}/{_ratio(r['mapper'][0], r['mapper'][2])}",
            f"{_ratio(r['naive'][0], r['naive'][1])}/{_ratio(r['naive'][0], r['naive'][2])}",
            len(r["wrong_pairs"]), len(r["missed"])] for r in specs])
    for r in specs:
        if r["wrong_pairs"] or r["missed"]:
            print(f"  {r['id']}: wrong {r['wrong_pairs']} missed {r['missed']}")
    mapper = _sum([r["offline"]["mapper"] for r in mock if "mapper" in r["offline"]] + [r["mapper"] for r in specs])
    naive = _sum([r["offline"]["naive"] for r in mock if "naive" in r["offline"]] + [r["naive"] for r in specs])
    n = len(mock)
    offline_valid = sum(r["offline"]["valid"] for r in mock)
    scripted = [r["scripted"] for r in mock if "scripted" in r]
    elements_ok = sum(not r["offline"]["missing"] for r in mock)
    invented = sum(r["offline"].get("invented", 0) for r in mock) + sum(s.get("invented", 0) for s in scripted)
    dry_ok = sum(bool(r["offline"].get("dry_run_ok")) for r in mock)
    ops_ok = sum(r["operation_ok"] for r in specs)
    offline_times = [r["offline_seconds"] for r in mock]
    scripted_times = [r["scripted_seconds"] for r in mock if "scripted_seconds" in r]
    tokens = [s["tokens"] for s in scripted]
    mistakes = [r for r in mock if r.get("scripted") and any(i["id"] == r["id"] and i.get("mistake") for i in ITEMS)]
    table("assistant evaluation", ["measure", "value"], [
        ["intents", f"{n + len(specs)} ({n} mock ERP drafts, {len(specs)} published-spec mappings)"],
        ["offline mapper precision / recall (micro, labelled columns)",
         f"{_ratio(mapper[0], mapper[1])} / {_ratio(mapper[0], mapper[2])} ({mapper[0]} of {mapper[2]} labelled)"],
        ["naive exact-name mapper precision / recall (same labels)",
         f"{_ratio(naive[0], naive[1])} / {_ratio(naive[0], naive[2])}"],
        ["published specs: intent resolved to the expected operation", f"{ops_ok} / {len(specs)}"],
        ["offline drafts valid (validated, compiled, dry-run)", f"{offline_valid} / {n}"],
        ["offline drafts with every expected element", f"{elements_ok} / {n}"],
        ["scripted drafts valid first time", f"{sum(s['first_time'] for s in scripted)} / {len(scripted)}"],
        ["scripted drafts valid after repairs", f"{sum(s['valid'] for s in scripted)} / {len(scripted)} "
                                                f"({len(mistakes)} transcripts carry a mistake to repair)"],
        ["invented fields in drafts", str(invented)],
        ["dry-run pass rate (first page through the WASM SDK, mapping applied)", f"{dry_ok} / {n}"],
        ["median time per draft, offline", f"{statistics.median(offline_times):.2f} s"],
        ["median time per draft, scripted model (incl. repairs)",
         f"{statistics.median(scripted_times):.2f} s" if scripted_times else "-"],
        ["tokens per draft, scripted transcript (median / max)",
         f"{statistics.median(tokens):.0f} / {max(tokens)}" if tokens else "-"],
    ])
    for r in mock:
        if "reply" in r:
            print(f"  {r['id']} not drafted: {r['reply'][:300]}")


ITEMS: list[dict[str, Any]] = []


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help="comma-separated intent ids")
    args = parser.parse_args()
    data = yaml.safe_load((HERE / "assistant_eval.yaml").read_text())
    items = data["intents"]
    if args.only:
        wanted = set(args.only.split(","))
        items = [i for i in items if i["id"] in wanted]
    ITEMS.extend(items)
    specs = eval_specs([i for i in items if "spec" in i])
    mock_items = [i for i in items if "spec" not in i and "real" not in i]
    mock = eval_mock(data, mock_items) if mock_items else []
    real = eval_real([i for i in items if "real" in i])
    if mock:
        report(mock, specs)
    report_real(real)


if __name__ == "__main__":
    main()
