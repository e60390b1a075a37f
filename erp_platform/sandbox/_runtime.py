"""The WebAssembly runtime: one engine (fuel + epoch interruption), components, per-call stores.

A guest instance lives for one call: every ``execute`` gets a fresh Store with its own fuel, epoch
deadline, memory limit and a WASI context that grants nothing (no preopened folders, no environment, no
arguments, no network). Host functions are bound per session through a Linker per session (0.1-0.5 ms
to build), so no host function is shared between sessions or tenants. The guest's monotonic clock is
served by the host and waiting on it (``time.sleep``, ``select``) is refused: a guest blocked inside a
host call cannot be reached by epoch interruption, so a sleep could outlive any deadline.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import math
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wasmtime import Config, Engine, ExitTrap, Store, WasiConfig, WasmtimeError
from wasmtime.component import Component, Linker, Record

from erp_platform._files import atomic_write_bytes
from erp_platform.sandbox._errors import (
    CallContext,
    DeadlineExceeded,
    FuelExhausted,
    GuestTrap,
    MemoryLimitExceeded,
    SandboxClosed,
    SandboxError,
)
from erp_platform.sandbox._host import GuestRequest, HostBridge, PageOk
from erp_platform.sandbox._manifest import SandboxLimits

if TYPE_CHECKING:
    from erp_platform.sandbox._manifest import SdkManifest
    from erp_platform.sandbox._services import HostServices
    from erp_platform.sandbox._session import SdkSession

HOST_INTERFACE = "erp:sdk/host@0.1.0"
_STDERR_KEEP = 16 * 1024
_TRACEBACK_FILE = re.compile(r'File "/\d+/([^"]+)", line (\d+)')
_MONOTONIC_CLOCK = re.compile(r"^wasi:clocks/monotonic-clock@[0-9.]+$")


@dataclass(frozen=True)
class GuestOutcome:
    """How one export call ended: ``ok`` / ``err`` text, or a classified ``trap``."""

    kind: str  # "ok" | "err" | "trap"
    text: str = ""
    trap: SandboxError | None = None
    instantiate_ms: float = 0.0
    guest_ms: float = 0.0
    fuel_used: int | None = None


class _GuestAbort(WasmtimeError):
    """Raised by a host function to trap the guest (a WasmtimeError keeps no global Python state)."""


class SandboxRuntime:
    """Owns the wasmtime Engine (fuel metering + epoch interruption) and its epoch ticker thread.

    Example::

        with SandboxRuntime(cache_dir=Path(".erp/cache/wasm")) as runtime:
            component = runtime.load_component(compile_component(sources, entry="guest", cache_dir=...))
            with runtime.open_session(manifest, component, HostServices(secrets=vault.read)) as session:
                for page in session.iter_pages("list_customers", {"_page_size": 1000}):
                    load(page.records)
    """

    def __init__(self, *, cache_dir: Path | None = None, epoch_tick_seconds: float = 0.01) -> None:
        config = Config()
        config.consume_fuel = True
        config.epoch_interruption = True
        self._engine = Engine(config)
        self._engine_key = f"wasmtime-{importlib.metadata.version('wasmtime')}-fuel-epoch-v1"
        self._cache_dir = cache_dir
        self._tick = epoch_tick_seconds
        self._components: dict[str, LoadedComponent] = {}
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._run_ticker, name="erp-sandbox-epoch", daemon=True)
        self._ticker.start()

    def _run_ticker(self) -> None:
        while not self._stop.wait(self._tick):
            self._engine.increment_epoch()

    @property
    def engine(self) -> Engine:
        self._check_open()
        return self._engine

    @property
    def closed(self) -> bool:
        return self._closed

    def epoch_ticks(self, seconds: float) -> int:
        """Epoch ticks that cover ``seconds`` of wall-clock time."""
        return max(1, math.ceil(seconds / self._tick)) + 1

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxClosed("the sandbox runtime is closed; create a new SandboxRuntime")

    def load_component(self, wasm: bytes | Path) -> LoadedComponent:
        """Load a component from its ``.wasm`` bytes or file; compiled once per process (and per cache dir).

        Compiling a component takes seconds; with ``cache_dir`` the machine code is kept on disk keyed by
        (wasm hash, wasmtime version, engine config) and deserialised in about 50 ms next time.
        """
        self._check_open()
        data = wasm.read_bytes() if isinstance(wasm, Path) else bytes(wasm)
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            found = self._components.get(digest)
        if found is not None:
            return found
        component = self._from_disk_cache(digest) if self._cache_dir is not None else None
        if component is None:
            component = Component(self._engine, data)
            if self._cache_dir is not None:
                atomic_write_bytes(self._precompiled_path(digest), bytes(component.serialize()))
        return self._remember(digest, component)

    def load_precompiled(self, data: bytes, *, wasm_hash: str | None = None) -> LoadedComponent:
        """Load machine code made by :meth:`precompile` with the same wasmtime version and config.

        Only pass bytes this platform produced and stored (they are native code, trusted by design).
        """
        self._check_open()
        digest = wasm_hash or "precompiled-" + hashlib.sha256(data).hexdigest()
        with self._lock:
            found = self._components.get(digest)
        if found is not None:
            return found
        return self._remember(digest, Component.deserialize(self._engine, data))

    def precompile(self, wasm: bytes | Path) -> bytes:
        """Compile a component to machine code for this engine (``Component.serialize``)."""
        return bytes(self.load_component(wasm).component.serialize())

    def open_session(
        self,
        manifest: SdkManifest,
        component: LoadedComponent,
        services: HostServices | None = None,
    ) -> SdkSession:
        """Open a session (host functions bound to it) for one activity of one tenant."""
        from erp_platform.sandbox._session import SdkSession

        self._check_open()
        return SdkSession(manifest, component, services)

    def close(self) -> None:
        """Stop the epoch ticker and release the engine; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._ticker.join(timeout=5)
        with self._lock:
            self._components.clear()
        # Stores, linkers and components keep their own reference to the engine inside wasmtime.
        self._engine.close()

    def __enter__(self) -> SandboxRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _precompiled_path(self, digest: str) -> Path:
        assert self._cache_dir is not None
        return self._cache_dir / "precompiled" / f"{digest}-{self._engine_key}.cwasm"

    def _from_disk_cache(self, digest: str) -> Component | None:
        path = self._precompiled_path(digest)
        if not path.exists():
            return None
        try:
            return Component.deserialize_file(self._engine, str(path))
        except WasmtimeError:
            path.unlink(missing_ok=True)  # stale or damaged: compile again
            return None

    def _remember(self, digest: str, component: Component) -> LoadedComponent:
        loaded = LoadedComponent(runtime=self, component=component, wasm_hash=digest)
        with self._lock:
            return self._components.setdefault(digest, loaded)


@dataclass(frozen=True, eq=False)
class LoadedComponent:
    """A compiled component ready to instantiate, with the runtime that compiled it."""

    runtime: SandboxRuntime
    component: Component
    wasm_hash: str

    runner = "wasm"

    @functools.cached_property
    def monotonic_clock_import(self) -> str | None:
        """The versioned ``wasi:clocks/monotonic-clock`` import name, if the component has one."""
        imports = self.component.type.imports(self.runtime.engine)
        return next((name for name in imports if _MONOTONIC_CLOCK.match(name)), None)

    def open_guest(self, bridge: HostBridge, limits: SandboxLimits) -> WasmGuest:
        """Bind a new guest (its own Linker and host functions) to ``bridge``."""
        return WasmGuest(self, bridge, limits)


class WasmGuest:
    """One guest instance per session (per activity): instantiated on the first call, reused by later calls
    with fresh fuel and a fresh deadline each time, and thrown away after any trap or violation (the next
    call instantiates a clean one)."""

    def __init__(self, loaded: LoadedComponent, bridge: HostBridge, limits: SandboxLimits) -> None:
        self._loaded = loaded
        self._runtime = loaded.runtime
        self._bridge = bridge
        self._limits = limits
        self._linker = self._make_linker()
        self._store: Store | None = None
        self._instance: Any = None
        self._funcs: dict[str, Any] = {}
        self._stderr = _StderrTail()

    def close(self) -> None:
        self._discard()
        self._linker.close()

    def _discard(self) -> None:
        if self._store is not None:
            self._store.close()
        self._store = None
        self._instance = None
        self._funcs = {}

    def _make_linker(self) -> Linker:
        bridge = self._bridge
        engine = self._runtime.engine
        linker = Linker(engine)
        linker.allow_shadowing = True
        linker.add_wasip2()

        def send(_store: Any, request: Any) -> Any:
            result = bridge.send(_guest_request(request))
            if isinstance(result, str):
                return result
            response: Any = Record()
            response.status = result.status
            response.headers = result.headers
            response.body = result.body
            return response

        def fetch_json_records(
            _store: Any, request: Any, record_path: list[str], meta: list[str]
        ) -> Any:
            result = bridge.fetch_json_records(_guest_request(request), record_path, meta)
            if isinstance(result, str):
                return result
            return _page_info(result)

        def log(_store: Any, level: str, message: str) -> None:
            bridge.log(level, message)

        def now(_store: Any) -> int:
            return time.monotonic_ns()

        def resolution(_store: Any) -> int:
            return 1

        def subscribe_duration(_store: Any, nanoseconds: int) -> None:
            raise _GuestAbort(bridge.guest_wait(nanoseconds / 1e9))

        def subscribe_instant(_store: Any, instant: int) -> None:
            raise _GuestAbort(bridge.guest_wait(max(0, instant - time.monotonic_ns()) / 1e9))

        clock = self._loaded.monotonic_clock_import
        with linker.root() as root:
            with root.add_instance(HOST_INTERFACE) as host:
                host.add_func("send", send)
                host.add_func("fetch-json-records", fetch_json_records)
                host.add_func("log", log)
            if clock is not None:
                # Waiting blocks the host thread where epoch interruption cannot reach it: refuse it.
                with root.add_instance(clock) as monotonic:
                    monotonic.add_func("now", now)
                    monotonic.add_func("resolution", resolution)
                    monotonic.add_func("subscribe-duration", subscribe_duration)
                    monotonic.add_func("subscribe-instant", subscribe_instant)
        return linker

    def call(self, export: str, args: tuple[str, ...], context: CallContext) -> GuestOutcome:
        """Call ``export`` on this session's instance; traps come back classified, never raised."""
        runtime = self._runtime
        limits = self._limits
        started = time.perf_counter()
        instantiated = started
        keep = False
        try:
            if self._store is None:
                self._stderr = _StderrTail()
                store = Store(runtime.engine)
                wasi = WasiConfig()
                wasi.stderr_custom = self._stderr.write
                store.set_wasi(wasi)
                store.set_limits(memory_size=limits.memory_bytes)
                self._store = store
            store = self._store
            store.set_fuel(limits.fuel)
            store.set_epoch_deadline(runtime.epoch_ticks(limits.deadline_seconds))
            try:
                if self._instance is None:
                    self._instance = self._linker.instantiate(store, self._loaded.component)
                instantiated = time.perf_counter()
                func = self._funcs.get(export)
                if func is None:
                    func = self._instance.get_func(store, export)
                    if func is None:
                        raise GuestTrap(f"the component has no export {export!r}", context=context)
                    self._funcs[export] = func
                value = func(store, *args)
                func.post_return(store)
            except WasmtimeError as exc:
                trap = _classify(exc, self._stderr.text(), limits, context, instantiated == started)
                return self._outcome("trap", "", started, instantiated, store, trap=trap)
            except SandboxError as exc:
                return self._outcome("trap", "", started, instantiated, store, trap=exc)
            if export == "describe":
                keep = True
                return self._outcome("ok", str(value), started, instantiated, store)
            tag = getattr(value, "tag", None)
            payload = getattr(value, "payload", None)
            if tag not in ("ok", "err") or not isinstance(payload, str):
                trap = GuestTrap(f"execute returned {type(value).__name__}, not a result", context=context)
                return self._outcome("trap", "", started, instantiated, store, trap=trap)
            keep = not self._bridge_failed()
            return self._outcome(tag, payload, started, instantiated, store)
        finally:
            if not keep:
                self._discard()

    def _bridge_failed(self) -> bool:
        """A host-side violation during the call: start the next call on a fresh instance."""
        return self._bridge.violation_pending

    def _outcome(
        self,
        kind: str,
        text: str,
        started: float,
        instantiated: float,
        store: Store,
        *,
        trap: SandboxError | None = None,
    ) -> GuestOutcome:
        ended = time.perf_counter()
        try:
            fuel_used: int | None = self._limits.fuel - store.get_fuel()
        except WasmtimeError:
            fuel_used = None
        return GuestOutcome(
            kind=kind,
            text=text,
            trap=trap,
            instantiate_ms=(instantiated - started) * 1000,
            guest_ms=(ended - instantiated) * 1000,
            fuel_used=fuel_used,
        )


class _StderrTail:
    """Keeps the last bytes the guest wrote to stderr (its traceback when it crashes)."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        self._chunks.append(bytes(data))
        self._size += len(data)
        while self._size > _STDERR_KEEP and len(self._chunks) > 1:
            self._size -= len(self._chunks.pop(0))

    def text(self) -> str:
        return b"".join(self._chunks)[-_STDERR_KEEP:].decode("utf-8", errors="replace")


def _guest_request(record: Any) -> GuestRequest:
    return GuestRequest(
        method=str(record.method),
        url=str(record.url),
        headers=[(str(k), str(v)) for k, v in record.headers],
        body=record.body,
    )


def _page_info(page: PageOk) -> Any:
    info: Any = Record()
    setattr(info, "page-id", page.page_id)
    info.status = page.status
    setattr(info, "record-count", page.record_count)
    setattr(info, "meta-json", page.meta_json)
    return info


def _classify(
    exc: WasmtimeError, stderr: str, limits: SandboxLimits, context: CallContext, instantiating: bool
) -> SandboxError:
    """Turn a wasmtime error into the sandbox error that explains it."""
    message = str(exc)
    if isinstance(exc, ExitTrap):
        return GuestTrap(f"the guest tried to exit the process (exit status {exc.code})", context=context)
    if "all fuel consumed" in message:
        return FuelExhausted(
            f"the guest used all its fuel ({limits.fuel:,} units); it computes too much for one call "
            "(an endless loop?) - raise limits.fuel only if the work is legitimate",
            context=context,
        )
    if "wasm trap: interrupt" in message:
        return DeadlineExceeded(
            f"the guest ran past the call's deadline of {limits.deadline_seconds:g}s and was interrupted",
            context=context,
        )
    if "MemoryError" in stderr or (instantiating and "memory" in message and "limit" in message):
        return MemoryLimitExceeded(
            f"the guest needed more than limits.memory_bytes ({limits.memory_bytes:,} bytes) of memory",
            context=context,
        )
    if "call stack exhausted" in message:
        return GuestTrap("the guest overflowed its stack (runaway recursion)", context=context)
    where = _traceback_summary(stderr)
    if where:
        return GuestTrap(f"the guest crashed with an uncaught exception: {where}", context=context)
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    caused = lines[lines.index("Caused by:") + 1 :] if "Caused by:" in lines else lines[-1:]
    reason = "; ".join(line.split(": ", 1)[-1] if line[:1].isdigit() else line for line in caused)
    return GuestTrap(f"the guest trapped: {reason[:300] or 'unknown error'}", context=context)


def _traceback_summary(stderr: str) -> str:
    """``ValueError: boom (at guest.py line 27)`` from a guest traceback, or ''."""
    header = "Traceback (most recent call last)"
    if header not in stderr:
        return ""
    tail = stderr[stderr.rindex(header) :]
    lines = [line for line in tail.splitlines()[1:] if line.strip()]
    error = next((line.strip() for line in lines if not line[:1].isspace()), "unknown exception")
    locations = _TRACEBACK_FILE.findall(tail)
    where = f" (at {locations[-1][0]} line {locations[-1][1]})" if locations else ""
    return f"{error[:300]}{where}"
