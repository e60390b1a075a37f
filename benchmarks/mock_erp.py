"""Throughput of the mock ERP: pages/s and records/s of 1,000-record pages, per API style.

The server runs in a subprocess (``MockErpProcess``, one polars thread) so it does not share the
client's GIL; a few httpx clients (threads) each read their own range of pages in order, the way a
partitioned sync would. Besides wall-clock rates it reports the server's own CPU time, so
"pages per server CPU-second" is the capacity of one core whatever the client costs.

    .venv/bin/python benchmarks/mock_erp.py [--rows 1000000] [--pages 300] [--clients 4] [--entities all]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from dataclasses import dataclass

import httpx
import orjson

from erp_platform.mock_erp import ENTITIES, MockErpConfig, MockErpProcess

PAGE = 1000
HEADERS = {"Authorization": "Bearer tok-acme", "X-ERP-Tenant": "acme"}


@dataclass(frozen=True)
class Result:
    style: str
    entity: str
    pages: int
    records: int
    megabytes: float
    wall_s: float
    server_cpu_s: float


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def page_request(style: str, entity: str, page_no: int) -> tuple[str, dict[str, str]]:
    spec = ENTITIES[entity]
    if style == "odata_v4":
        return f"/odata/v4/companies(acme)/{spec.v4_set}", {"$top": str(PAGE), "$skip": str(page_no * PAGE)}
    if style == "odata_v2":
        return f"/odata/v2/{spec.v2_set}", {"$top": str(PAGE), "$skip": str(page_no * PAGE)}
    return f"/api/v1/{spec.rest_path}", {"page": str(page_no + 1), "pageSize": str(PAGE)}


def count_records(style: str, body: bytes) -> int:
    data = orjson.loads(body)
    if style == "odata_v4":
        return len(data["value"])
    if style == "odata_v2":
        return len(data["d"]["results"])
    return len(data["items"])


def run(erp: MockErpProcess, style: str, entity: str, pages: int, clients: int, first_page: int) -> Result:
    per_client = pages // clients
    sizes: list[int] = []
    records: list[int] = []
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def client(n: int) -> None:
        with httpx.Client(base_url=erp.base_url, headers=HEADERS, timeout=60) as http:
            barrier.wait()
            start = first_page + n * per_client
            for k, page_no in enumerate(range(start, start + per_client)):
                path, params = page_request(style, entity, page_no)
                response = http.get(path, params=params)
                if response.status_code != 200:
                    errors.append(f"{path} {params}: {response.status_code} {response.text[:200]}")
                    return
                sizes.append(len(response.content))
                if k == 0:  # parsing every page would measure the client, not the server
                    records.append(count_records(style, response.content))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = cpu_seconds(erp.pid)
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    cpu = cpu_seconds(erp.pid) - cpu_before
    if errors:
        raise SystemExit(f"benchmark failed: {errors[0]}")
    assert all(r == PAGE for r in records), records
    return Result(style, entity, len(sizes), len(sizes) * PAGE, sum(sizes) / 1e6, wall, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="configured rows (customers, orders)")
    parser.add_argument("--pages", type=int, default=300, help="pages per style and entity (at most)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent httpx clients")
    parser.add_argument("--entities", default="customers", help="comma-separated entities, or 'all'")
    args = parser.parse_args()
    entities = list(ENTITIES) if args.entities == "all" else args.entities.split(",")
    results: list[Result] = []
    with MockErpProcess(MockErpConfig(rows=args.rows)) as erp:
        warm = httpx.get(f"{erp.base_url}/openapi.json")  # imports and first-request costs
        warm.raise_for_status()
        for entity in entities:
            # each style reads fresh pages, so every page is generated and none comes from the cache
            pages = min(args.pages, ENTITIES[entity].count(args.rows) // PAGE // 3)
            pages -= pages % args.clients
            if pages < args.clients:
                raise SystemExit(f"--rows {args.rows} is too small for {entity}: raise it")
            for n, style in enumerate(("odata_v4", "odata_v2", "rest")):
                results.append(run(erp, style, entity, pages, args.clients, n * pages))
    print(
        f"mock ERP throughput: {args.clients} clients, {PAGE}-record pages, rows={args.rows}, "
        f"server in a subprocess (POLARS_MAX_THREADS=1), {os.cpu_count()} cores"
    )
    header = (
        f"{'style':<9} {'entity':<18} {'pages':>6} {'wall s':>7} {'pages/s':>8} {'records/s':>10} "
        f"{'MB/s':>6} {'srv cpu s':>9} {'pages/cpu-s':>11}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.style:<9} {r.entity:<18} {r.pages:>6} {r.wall_s:>7.2f} {r.pages / r.wall_s:>8.0f} "
            f"{r.records / r.wall_s:>10.0f} {r.megabytes / r.wall_s:>6.0f} {r.server_cpu_s:>9.2f} "
            f"{r.pages / max(r.server_cpu_s, 1e-9):>11.0f}"
        )


if __name__ == "__main__":
    main()
