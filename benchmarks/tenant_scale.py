"""Tenant scale: `erp dev` (DevStack: fork server, one forked gRPC code server per tenant, daemon, webserver)
with 10, 50 and 100 tenant code locations.

Prints per size: start-up time, time until the webserver reports every location LOADED, memory in total
and per code location (USS and PSS via psutil), and GraphQL response times of the UI's workspace and runs
queries. For comparison it measures one code server started the default way (`dagster api grpc`), and
idle forked code servers that have served nothing yet (the fork server calls ``gc.freeze()`` after
preloading, so the children's garbage collector no longer writes to, and so copies, every inherited page;
without it a forked code server held ~100 MB of its own).
Tenants have empty code locations (no ACTIVE workflows), so per-location memory is the floor.

Why the fork server: a forked code server shares the interpreter, Dagster, polars, pyarrow, wasmtime and
the platform with its parent copy-on-write, so only what it changes is its own (USS); `dagster api grpc`
imports all of it again per process, and a ``python_module`` workspace entry starts one such process per
consumer (webserver and daemon each), per tenant.

Settings: BENCH_SIZES (default "10,50,100"), BENCH_PORT (default 3210).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from _common import percentile, table

from erp_platform._platform import Platform
from erp_platform.config import load_settings
from erp_platform.db import make_engine
from erp_platform.orchestration._supervisor import DevStack
from erp_platform.registry import migrate
from erp_platform.tenancy import TenantService
from tests.support.database import fresh_database

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10,50,100").split(",")]
PORT = int(os.environ.get("BENCH_PORT", "3210"))
MB = 1024 * 1024

WORKSPACE_QUERY = """
{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
    locationOrLoadError { __typename ... on RepositoryLocation { name repositories { name } } } } } } }
"""
RUNS_QUERY = "{ runsOrError(limit: 20) { __typename ... on Runs { results { runId status } } } }"


def memory(pid: int) -> tuple[float, float]:
    info = psutil.Process(pid).memory_full_info()
    return info.uss / MB, info.pss / MB


def graphql(url: str, query: str) -> tuple[float, dict[str, object]]:
    started = time.perf_counter()
    reply = httpx.post(f"{url}/graphql", json={"query": query}, timeout=300)
    elapsed = time.perf_counter() - started
    reply.raise_for_status()
    return elapsed, reply.json()


def loaded(url: str, count: int) -> bool:
    _, body = graphql(url, WORKSPACE_QUERY)
    entries = body["data"]["workspaceOrError"]["locationEntries"]  # type: ignore[index]
    return len(entries) == count and all(e["loadStatus"] == "LOADED" for e in entries)


def measure(size: int, port: int) -> list[object]:
    try:
        return _measure(size, port)
    except Exception as exc:  # report the size that failed and why, keep measuring the others
        print(f"{size} tenants: FAILED: {type(exc).__name__}: {exc}")
        return [size, "failed", "-", "-", "-", "-", "-", "-"]


def _measure(size: int, port: int) -> list[object]:
    with fresh_database("erp_bench") as url:
        engine = make_engine(url)
        migrate(engine)
        tenants = TenantService(engine)
        tiers = ("free", "standard", "enterprise")
        for i in range(size):
            tenants.create(f"scale_{i:03d}", tiers[i % 3])
        home = Path(tempfile.mkdtemp(prefix=f"erp-bench-scale{size}-"))
        with Platform(load_settings(home=home, database_url=url)) as plat:
            stack = DevStack(plat, port=port, metrics_port=-1)
            began = time.perf_counter()
            try:
                stack.start(timeout=900)
                started = time.perf_counter() - began
                while not loaded(stack.url, size):
                    time.sleep(0.5)
                all_loaded = time.perf_counter() - began
                workspace_times = [graphql(stack.url, WORKSPACE_QUERY)[0] for _ in range(10)]
                runs_times = [graphql(stack.url, RUNS_QUERY)[0] for _ in range(10)]
                fork_pid = stack._procs["forkserver"].popen.pid  # type: ignore[union-attr]
                code_servers = psutil.Process(fork_pid).children()
                code = [memory(p.pid) for p in code_servers]
                parts = {name: memory(stack._procs[name].popen.pid)  # type: ignore[union-attr]
                         for name in ("forkserver", "daemon", "webserver")}
            finally:
                stack.stop()
        engine.dispose()
    total_uss = sum(u for u, _ in code) + sum(u for u, _ in parts.values())
    total_pss = sum(p for _, p in code) + sum(p for _, p in parts.values())
    print(f"{size} tenants: {len(code)} code servers; fork server USS {parts['forkserver'][0]:.0f} MB, "
          f"daemon {parts['daemon'][0]:.0f} MB, webserver {parts['webserver'][0]:.0f} MB")
    return [size, f"{started:.1f} s", f"{all_loaded:.1f} s", f"{total_uss:.0f} / {total_pss:.0f} MB",
            f"{statistics.fmean(u for u, _ in code):.1f} / {statistics.fmean(p for _, p in code):.1f} MB",
            f"{parts['webserver'][0]:.0f} MB", f"{percentile(workspace_times, 50) * 1000:.0f} ms",
            f"{percentile(runs_times, 50) * 1000:.0f} ms"]


def default_code_server() -> tuple[float, float]:
    """USS/PSS of one code server started as `dagster api grpc` (what a python_module entry spawns)."""
    with fresh_database("erp_bench") as url:
        engine = make_engine(url)
        migrate(engine)
        TenantService(engine).create("scale_ref", "free")
        engine.dispose()
        sock = Path(tempfile.mkdtemp(prefix="erp-bench-grpc-")) / "code.sock"
        env = {**os.environ, "ERP_DATABASE_URL": url, "ERP_HOME": str(sock.parent)}
        proc = subprocess.Popen([str(Path(sys.executable).parent / "dagster"), "api", "grpc", "-m",
                                 "code_locations.tenants", "-a", "scale_ref", "--socket", str(sock)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            from dagster._grpc.client import DagsterGrpcClient

            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                try:
                    DagsterGrpcClient(socket=str(sock), host="localhost").ping("x")
                    break
                except Exception:
                    time.sleep(0.2)
            return memory(proc.pid)
        finally:
            proc.terminate()
            proc.wait(30)


def forked_code_servers(count: int = 10) -> tuple[float, float]:
    """Mean (USS, PSS) of ``count`` idle code servers forked from the platform's fork server."""
    from dagster._grpc.client import DagsterGrpcClient

    from erp_platform.orchestration._forkclient import call

    with fresh_database("erp_bench") as url:
        engine = make_engine(url)
        migrate(engine)
        for i in range(count):
            TenantService(engine).create(f"fork_{i:02d}", "free")
        engine.dispose()
        work = Path(tempfile.mkdtemp(prefix="erp-bench-fork-"))
        env = {**os.environ, "ERP_DATABASE_URL": url, "ERP_HOME": str(work)}
        sock = work / "fs.sock"
        argv = [sys.executable, "-m", "erp_platform.orchestration._forkserver", "--socket", str(sock),
                "--log-dir", str(work)]
        server = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        try:
            _until(lambda: call(sock, {"op": "ping"}, timeout=2))
            pids = []
            for i in range(count):
                code_sock = work / f"code-{i}.sock"
                reply = call(sock, {"op": "code_server", "location": f"tenant_fork_{i:02d}",
                                    "attribute": f"fork_{i:02d}", "socket": str(code_sock)})
                pids.append(int(reply["pid"]))
                _until(lambda s=code_sock: DagsterGrpcClient(socket=str(s), host="localhost").ping("x"))
            time.sleep(3)
            sizes = [memory(pid) for pid in pids]
        finally:
            os.killpg(server.pid, 15)
            server.wait(30)
    return statistics.fmean(u for u, _ in sizes), statistics.fmean(p for _, p in sizes)


def _until(probe: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            probe()  # type: ignore[operator]
            return
        except Exception:
            time.sleep(0.2)
    raise TimeoutError("not ready")


def main() -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args()
    rows = [measure(size, PORT + i) for i, size in enumerate(SIZES)]
    idle = forked_code_servers()
    uss, pss = default_code_server()
    table("tenant scale (erp dev: forked code servers; this machine: 2 cores, 24 GB)",
          ["tenants", "start", "all LOADED", "total USS / PSS", "per location USS / PSS", "webserver USS",
           "GraphQL workspace p50", "GraphQL runs p50"], rows)
    print(f"\none `dagster api grpc` code server (python_module default): USS {uss:.0f} MB, PSS {pss:.0f} MB")
    print(f"idle forked code server (nothing served yet): USS {idle[0]:.1f} MB, PSS {idle[1]:.1f} MB each")


if __name__ == "__main__":
    main()
