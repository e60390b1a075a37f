"""The SDK builder on the real-spec corpus (tests/corpus/manifest.yaml), side by side with dlt-init-openapi.

One row per spec:

- ops: operations built / operations in the spec (the rest are skipped with a reason);
- lists: GET list operations; with a record selector, with paging, with a primary key, with an incremental
  cursor (each decision carries evidence; ``erp sdk show --json`` lists them);
- parse: ``load_spec`` (inference included); build cold / cached: ``build_sdk`` (parse, generate, scan,
  componentize-py compile) with an empty cache, then again with the cache;
- e2e: rows loaded correctly / rows the ERP returned, syncing the manifest's list endpoints through the
  platform (SDK build, scaffolded workflow, Dagster run through the queue, Postgres) against Prism or an
  OData service generated from the EDMX (``tests/e2e_real/harness.py``; ``--no-e2e`` skips it).

The peer, dlt-init-openapi, is installed in its own virtualenv under ``.bench/`` on first use (from PyPI,
with ``setuptools<81`` and ``click<8.2`` it needs to start). It downloads dlt's rest_api source from GitHub
on first run; offline, it gets an empty placeholder folder (its generated config is only read, never run).
For each OpenAPI spec its generated ``rest_api`` config is parsed: resources, with a paginator (own or the
client's), with a primary key, with incremental; and, for the manifest's synced endpoints, whether it found
the same record selector and key as ours.

    .venv/bin/python benchmarks/spec_corpus.py [--specs xero_accounting,akeneo] [--no-e2e] [--no-peer]
"""

from __future__ import annotations

import argparse
import ast
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from _common import ROOT, table

from sdk_builder import ParsedSpec, build_sdk, load_spec, parse_overrides
from tests.support.corpus import CorpusSpec, load_corpus

PEER_VENV = ROOT / ".bench" / "dlt-init-openapi-venv"
PEER_TIMEOUT = 900


@dataclass
class Ours:
    ops: int = 0
    in_spec: int = 0
    lists: int = 0
    selector: int = 0
    paging: int = 0
    key: int = 0
    incremental: int = 0
    parse_s: float = 0.0
    cold_s: float = 0.0
    cached_s: float = 0.0
    error: str = ""


@dataclass
class Peer:
    resources: int = 0
    paginator: int = 0
    key: int = 0
    incremental: int = 0
    same_selector: int = 0
    same_key: int = 0
    synced: int = 0
    seconds: float = 0.0
    error: str = ""
    selectors: dict[str, str] = field(default_factory=dict)
    keys: dict[str, Any] = field(default_factory=dict)


def ours(entry: CorpusSpec, cache: Path) -> tuple[Ours, ParsedSpec | None]:
    result = Ours()
    overrides = parse_overrides(None, list(entry.overrides)) if entry.overrides else None
    try:
        started = time.perf_counter()
        parsed = load_spec(entry.file, base_url=entry.base_url, overrides=overrides)
        result.parse_s = time.perf_counter() - started
    except Exception as exc:  # a spec the builder refuses: reported in its row
        result.error = f"{type(exc).__name__}: {exc}"[:120]
        return result, None
    spec = parsed.spec
    lists = [op for op in spec.operations if op.collection and op.method == "GET"]
    result.ops, result.in_spec, result.lists = len(spec.operations), parsed.total_operations, len(lists)
    result.selector = sum(1 for op in lists if op.evidence.selector.evidence)
    result.paging = sum(1 for op in lists if op.pagination.style.value != "none")
    result.key = sum(1 for op in lists if op.primary_key)
    result.incremental = sum(1 for op in lists if op.incremental is not None)
    folder = cache / entry.id
    started = time.perf_counter()
    build_sdk(entry.file, cache_dir=folder, base_url=entry.base_url, overrides=overrides)
    result.cold_s = time.perf_counter() - started
    started = time.perf_counter()
    build_sdk(entry.file, cache_dir=folder, base_url=entry.base_url, overrides=overrides)
    result.cached_s = time.perf_counter() - started
    return result, parsed


# -- the peer ------------------------------------------------------------------------------------------------


def peer_ready() -> Path | None:
    """The peer's console script, installed on first use; None when it cannot be installed."""
    script = PEER_VENV / "bin" / "dlt-init-openapi"
    if not script.exists():
        print(f"installing dlt-init-openapi into {PEER_VENV} ...", flush=True)
        code = subprocess.call([sys.executable, "-m", "venv", str(PEER_VENV)])
        code = code or subprocess.call(
            [str(PEER_VENV / "bin" / "pip"), "install", "--quiet", "dlt-init-openapi", "setuptools<81", "click<8.2"]
        )
        if code or not script.exists():
            return None
    site = next((PEER_VENV / "lib").glob("python3*/site-packages"))
    (site / "rest_api").mkdir(exist_ok=True)  # its rest_api source download needs GitHub; never run here
    return script


class _Literal(ast.NodeVisitor):
    """Evaluates the generated config's dict literal; names (``base_url``) become their own names."""

    def value(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Dict):
            return {self.value(k): self.value(v) for k, v in zip(node.keys, node.values, strict=True) if k}
        if isinstance(node, ast.List | ast.Tuple):
            return [self.value(e) for e in node.elts]
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return node.id
        return ast.unparse(node)


def peer_config(source: str) -> dict[str, Any]:
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AnnAssign | ast.Assign):
            target = node.target if isinstance(node, ast.AnnAssign) else node.targets[0]
            if isinstance(target, ast.Name) and target.id == "source_config" and node.value is not None:
                value = _Literal().value(node.value)
                return value if isinstance(value, dict) else {}
    return {}


def peer(entry: CorpusSpec, script: Path, parsed: ParsedSpec | None, work: Path) -> Peer:
    result = Peer()
    if entry.format.startswith("odata"):
        result.error = "EDMX is not OpenAPI: not supported"
        return result
    out = work / f"peer-{entry.id}"
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [str(script), entry.id, "--path", str(entry.file), "--no-interactive", "--output-path", str(out)],
            capture_output=True, text=True, timeout=PEER_TIMEOUT, cwd=work, check=False,
            env={**os.environ, "COLUMNS": "200"},
        )
    except subprocess.TimeoutExpired:
        result.error = f"no result within {PEER_TIMEOUT} s"
        return result
    result.seconds = time.perf_counter() - started
    sources = [p for p in out.rglob("__init__.py") if "rest_api" not in p.parts]
    if done.returncode or not sources:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        errors = [line.split(" - ", 1)[-1] for line in lines if "| ERROR" in line or "Error" in line]
        result.error = f"failed: {(errors or lines[-1:] or ['?'])[0][:90]}"
        return result
    config = peer_config(sources[0].read_text())
    client_paginator = bool((config.get("client") or {}).get("paginator"))
    resources = [r for r in config.get("resources") or [] if isinstance(r, dict)]
    result.resources = len(resources)
    for resource in resources:
        endpoint = resource.get("endpoint") or {}
        result.paginator += bool(endpoint.get("paginator") or client_paginator)
        result.key += bool(resource.get("primary_key"))
        result.incremental += bool(endpoint.get("incremental"))
        path = str(endpoint.get("path") or "")
        result.selectors[path] = str(endpoint.get("data_selector") or "")
        result.keys[path] = resource.get("primary_key")
    if parsed is not None:
        for endpoint_entry in entry.endpoints:
            op = next((o for o in parsed.spec.operations if o.method == "GET"
                       and (o.source_id in {endpoint_entry.operation_id, f"GET {endpoint_entry.path}"}
                            or "/" + o.path == endpoint_entry.path)), None)
            if op is None:
                continue
            result.synced += 1
            selector = ".".join(op.record_path) or "$"
            if result.selectors.get(endpoint_entry.path) == selector:
                result.same_selector += 1
            key = result.keys.get(endpoint_entry.path)
            if key and (list(op.primary_key) == (key if isinstance(key, list) else [key])):
                result.same_key += 1
    return result


# -- end to end ----------------------------------------------------------------------------------------------


def end_to_end(entries: list[CorpusSpec], home: Path) -> dict[str, str]:
    from tests.e2e_real.harness import real_sync

    figures: dict[str, str] = {}
    with real_sync(home) as sync:
        for spec_id, check in sync.check_all(entries).items():
            if check.failure and not check.endpoints:
                figures[spec_id] = f"failed: {check.failure[:60]}"
            else:
                figures[spec_id] = f"{check.rows_correct}/{check.rows_expected}" + ("" if check.ok else " (!)")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--specs", help="comma-separated corpus ids (default: all)")
    parser.add_argument("--no-e2e", action="store_true", help="skip the end-to-end sync (no Dagster stack)")
    parser.add_argument("--no-peer", action="store_true", help="skip dlt-init-openapi")
    args = parser.parse_args()
    corpus = load_corpus()
    entries = [corpus.get(s) for s in args.specs.split(",")] if args.specs else list(corpus.specs)
    script = None if args.no_peer else peer_ready()
    rows_ours: dict[str, Ours] = {}
    rows_peer: dict[str, Peer] = {}
    with tempfile.TemporaryDirectory(prefix="spec-corpus-") as tmp:
        work = Path(tmp)
        for entry in entries:
            print(f"{entry.id}: building ...", flush=True)
            rows_ours[entry.id], parsed = ours(entry, work / "cache")
            if script is not None:
                print(f"{entry.id}: dlt-init-openapi ...", flush=True)
                rows_peer[entry.id] = peer(entry, script, parsed, work)
        served = [e for e in entries if e.endpoints and (e.prism != "none" or e.format.startswith("odata"))]
        e2e = {} if args.no_e2e else end_to_end(served, work / "e2e")
    table(
        "Ours (sdk_builder): lists = GET list operations; selector / paging / key / incremental among them",
        ["spec", "format", "ops built/in spec", "lists", "selector", "paging", "key", "incremental", "parse s",
         "build cold s", "cached s", "e2e rows correct"],
        [[e.id, e.format, f"{o.ops}/{o.in_spec}", o.lists, o.selector, o.paging, o.key, o.incremental,
          f"{o.parse_s:.2f}", f"{o.cold_s:.1f}", f"{o.cached_s:.2f}",
          e2e.get(e.id, "not served" if args.no_e2e is False and e.prism_note else "-")] if not o.error else
         [e.id, e.format, o.error, "", "", "", "", "", "", "", "", ""]
         for e in entries for o in [rows_ours[e.id]]],
    )
    if rows_peer:
        table(
            "Peer (dlt-init-openapi 0.1.0): resources of its generated rest_api config; on the synced endpoints, "
            "the same selector / key as ours",
            ["spec", "resources", "paginator", "key", "incremental", "same selector", "same key", "seconds"],
            [[e.id, p.error] + [""] * 6 if p.error else
             [e.id, p.resources, p.paginator, p.key, p.incremental, f"{p.same_selector}/{p.synced}",
              f"{p.same_key}/{p.synced}", f"{p.seconds:.1f}"]
             for e in entries for p in [rows_peer[e.id]]],
        )
    total = [rows_ours[e.id] for e in entries if not rows_ours[e.id].error]
    print(f"\ntotal: {sum(o.lists for o in total)} list operations, {sum(o.selector for o in total)} with a "
          f"selector, {sum(o.paging for o in total)} with paging, {sum(o.key for o in total)} with a key, "
          f"{sum(o.incremental for o in total)} with incremental")


if __name__ == "__main__":
    main()
