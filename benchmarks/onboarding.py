"""Onboarding benchmark: create 200 tenants (schema + role + registry row + audit), then list them.

Prints per-tenant onboarding time (p50/p95) and the time of `erp tenant list --json` at 200 tenants
(the real console command in a subprocess, so it includes interpreter start-up). Target: onboarding
under 0.25 s per tenant. Runs against a throwaway database on the local server (or the embedded one).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from _common import summary_ms, table

from erp_platform.db import make_engine
from erp_platform.registry import migrate
from erp_platform.tenancy import TenantService
from tests.support.database import fresh_database

TENANTS = int(os.environ.get("BENCH_TENANTS", "200"))


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    with fresh_database("erp_bench") as url:
        engine = make_engine(url)
        migrate(engine)
        service = TenantService(engine)
        tiers = ("free", "standard", "enterprise")
        times = []
        for i in range(TENANTS):
            t0 = time.perf_counter()
            service.create(f"bench_{i:04d}", tiers[i % 3])
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        listed = service.list()
        list_api = time.perf_counter() - t0
        env = {**os.environ, "ERP_DATABASE_URL": url, "ERP_HOME": tempfile.mkdtemp(prefix="erp-bench-")}
        cli_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-m", "erp_platform.cli", "tenant", "list", "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            cli_times.append(time.perf_counter() - t0)
        assert len(listed) == TENANTS and out.stdout.count('"slug"') == TENANTS
        engine.dispose()
    print(f"onboarding {TENANTS} tenants: {summary_ms(times)}")
    table(
        "onboarding",
        ["measure", "value"],
        [
            ["tenants", TENANTS],
            ["onboarding p50", f"{sorted(times)[len(times) // 2] * 1000:.1f} ms"],
            ["onboarding p95", f"{sorted(times)[int(len(times) * 0.95) - 1] * 1000:.1f} ms"],
            ["target", "< 250 ms per tenant"],
            [f"TenantService.list() at {TENANTS}", f"{list_api * 1000:.1f} ms"],
            [
                f"`erp tenant list --json` at {TENANTS} (best of 3, incl. start-up)",
                f"{min(cli_times) * 1000:.0f} ms",
            ],
        ],
    )


if __name__ == "__main__":
    main()
