"""Sandbox overhead: instantiate + execute a trivial operation, WebAssembly vs the same guest natively.

Every sandboxed call instantiates the component in a fresh Store (fuel, epoch deadline, memory limit,
WASI granting nothing) and runs ``execute``; the native runner runs the same guest source in this
CPython with the same host services. Also measured: opening a session (one Linker with the session's
host functions), loading a precompiled component, and compiling the component.

    .venv/bin/python benchmarks/sandbox_overhead.py [--calls 300] [--cache-dir .erp/cache/wasm]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from erp_platform.sandbox import (  # noqa: E402
    NativeComponent,
    SandboxRuntime,
    SdkManifest,
    SdkSession,
    compile_component,
)

GUEST = """import json

import wit_world
from wit_world.imports import host


class WitWorld(wit_world.WitWorld):
    def describe(self) -> str:
        return json.dumps({"name": "overhead", "version": 1, "operations": ["ping", "log"]})

    def execute(self, operation: str, params_json: str) -> str:
        params = json.loads(params_json)
        if operation == "log":
            host.log("info", "hello")
        return json.dumps({"result": {"pong": params.get("n", 0)}})
"""

SOURCES = {"overhead_guest.py": GUEST}
MANIFEST = SdkManifest(
    tenant="bench", sdk_name="overhead", sdk_version=1, base_url="https://erp.example.com", allowed_domains=()
)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def timed_calls(session: SdkSession, operation: str, calls: int) -> list[float]:
    for n in range(20):  # warm-up
        session.call(operation, {"n": n})
    samples = []
    for n in range(calls):
        started = time.perf_counter()
        session.call(operation, {"n": n})
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def row(label: str, samples: list[float]) -> str:
    return (
        f"{label:<34} p50 {percentile(samples, 50):8.3f} ms   p95 {percentile(samples, 95):8.3f} ms   "
        f"mean {statistics.fmean(samples):8.3f} ms   n={len(samples)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--cache-dir", type=Path, default=ROOT / ".erp" / "cache" / "wasm")
    args = parser.parse_args()

    started = time.perf_counter()
    wasm = compile_component(SOURCES, entry="overhead_guest", cache_dir=args.cache_dir)
    compile_s = time.perf_counter() - started
    with SandboxRuntime(cache_dir=args.cache_dir) as runtime:
        started = time.perf_counter()
        component = runtime.load_component(wasm)
        load_s = time.perf_counter() - started
        precompiled = runtime.precompile(wasm)
        deserialise = []
        for _ in range(5):
            with SandboxRuntime() as fresh:
                started = time.perf_counter()
                fresh.load_precompiled(precompiled)
                deserialise.append((time.perf_counter() - started) * 1000)

        opens = []
        for _ in range(50):
            started = time.perf_counter()
            session = SdkSession(MANIFEST, component)
            opens.append((time.perf_counter() - started) * 1000)
            session.close()

        # A fresh session per call: open + instantiate + execute (what the first page of an activity costs).
        cold: list[float] = []
        cold_stats = []
        for n in range(args.calls):
            started = time.perf_counter()
            with SdkSession(MANIFEST, component) as fresh_session:
                cold_stats.append(fresh_session.call("ping", {"n": n}).stats)
            cold.append((time.perf_counter() - started) * 1000)

        native = NativeComponent(SOURCES, entry="overhead_guest")
        with SdkSession(MANIFEST, component) as wasm_session, SdkSession(MANIFEST, native) as native_session:
            wasm_ping = timed_calls(wasm_session, "ping", args.calls)
            native_ping = timed_calls(native_session, "ping", args.calls)
            wasm_log = timed_calls(wasm_session, "log", args.calls)
    instantiate = [s.instantiate_ms for s in cold_stats]
    guest = [s.guest_ms for s in cold_stats]

    print(
        f"compile_component (cached by hash): {compile_s:.3f} s; load_component (disk cache): {load_s:.3f} s"
    )
    print(
        f"precompiled component: {len(precompiled) / 1e6:.1f} MB, "
        f"deserialise p50 {percentile(deserialise, 50):.1f} ms"
    )
    print(row("open session (Linker + host fns)", opens))
    print(row("sandbox ping, new session (open+instantiate+execute)", cold))
    print(row("  of which instantiate", instantiate))
    print(row("  of which execute", guest))
    print(row("sandbox ping, same session (instance reused)", wasm_ping))
    print(row("sandbox ping + host.log", wasm_log))
    print(row("native ping (same guest, CPython)", native_ping))
    p50 = percentile(cold, 50)
    verdict = "meets" if p50 <= 5.0 else "MISSES"
    print(
        f"instantiate + execute p50 {p50:.3f} ms {verdict} the 5 ms target; "
        f"reused instance p50 {percentile(wasm_ping, 50):.3f} ms; "
        f"native p50 {percentile(native_ping, 50):.3f} ms"
    )


if __name__ == "__main__":
    main()
