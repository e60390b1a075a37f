"""SDK build time for the Business Central spec (324 operations): cold, cached, and parse + generate alone.

- parse + generate: ``load_spec`` + ``generate`` in this process (best of 3), the floor of any build;
- cold: ``SdkService.build`` with empty caches: parse + generate + scan + compile (componentize-py) +
  precompile (wasmtime) + sandbox tests (40 operations through the component) + register (object store
  + registry row);
- cached: the same spec again (generation, component and machine code come from the caches; the sandbox
  tests and the registration of a new version still run).

Runs against a throwaway database on the local server (or the embedded one) and temporary folders.

    .venv/bin/python benchmarks/sdk_build.py [--spec PATH] [--cached-runs 3]
"""

from __future__ import annotations

import argparse
import base64
import os
import tempfile
import time
from pathlib import Path

from _common import ROOT, table
from pydantic import SecretStr

from erp_platform.credentials import LocalEncryptedStore
from erp_platform.db import make_engine
from erp_platform.objectstore import LocalObjectStore
from erp_platform.registry import migrate
from erp_platform.sandbox import SandboxRuntime
from erp_platform.sdks import SdkService, SdkVersionInfo
from erp_platform.tenancy import TenantService
from sdk_builder import generate, load_spec
from tests.support.database import fresh_database

DEFAULT_SPEC = ROOT.parent / "shared" / "specs" / "dynamics365_business_central_v1.openapi.yaml"
STAGES = ("parse", "generate", "scan", "compile", "precompile", "sandbox_tests", "register")


def parse_and_generate(spec: Path) -> float:
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        generate(load_spec(spec).spec)
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--cached-runs", type=int, default=3)
    args = parser.parse_args()

    floor = parse_and_generate(args.spec)
    with tempfile.TemporaryDirectory(prefix="erp-bench-sdk-") as tmp, fresh_database("erp_bench") as url:
        folder = Path(tmp)
        engine = make_engine(url)
        migrate(engine)
        TenantService(engine).create("bench", "standard")
        key = SecretStr(base64.urlsafe_b64encode(os.urandom(32)).decode())
        cache = folder / "cache"
        with SandboxRuntime(cache_dir=cache) as runtime:
            objects = LocalObjectStore(folder / "objects")
            credentials = LocalEncryptedStore(engine, master_key=key)
            service = SdkService(engine, objects, credentials, cache_dir=cache, runtime=runtime)
            started = time.perf_counter()
            cold = service.build("bench", args.spec)
            cold_wall = time.perf_counter() - started
            cached: list[tuple[float, SdkVersionInfo]] = []
            for _ in range(args.cached_runs):
                started = time.perf_counter()
                info = service.build("bench", args.spec)
                cached.append((time.perf_counter() - started, info))
        engine.dispose()

    best_wall, best = min(cached, key=lambda pair: pair[0])
    print(f"spec: {args.spec.name}: {cold.operation_count} operations, "
          f"{len(cold.skipped_operations)} skipped; tests: {cold.test_summary()}")
    rows = [[stage, f"{cold.timings.get(stage, 0.0):8.3f}", f"{best.timings.get(stage, 0.0):8.3f}"]
            for stage in STAGES]
    rows.append(["total (wall)", f"{cold_wall:8.3f}", f"{best_wall:8.3f}"])
    rows.append(["parse + generate alone (best of 3)", f"{floor:8.3f}", f"{floor:8.3f}"])
    table(f"SDK build, seconds (cached: best of {args.cached_runs}, versions 2..{args.cached_runs + 1})",
          ["stage", "cold", "cached"], rows)
    print(f"\ncached / cold: {best_wall / cold_wall:.1%}; cached / parse+generate: {best_wall / floor:.1f}x")


if __name__ == "__main__":
    main()
