"""Run the same guest source natively in this CPython process, with the same host-side services.

For benchmarks and differential tests only: this is NOT a sandbox (no fuel, no memory limit, full access
to the process). The guest's imports of ``wit_world``, ``wit_world.imports.host`` and
``componentize_py_types`` (and of its own modules) resolve in a private import scope: nothing is added to
``sys.modules``, so they never leak into other imports; standard-library imports work as usual.
"""

from __future__ import annotations

import builtins
import itertools
import sys
import time
import traceback
import types
from collections.abc import Mapping
from dataclasses import dataclass
from types import CodeType
from typing import Any

from erp_platform.sandbox._compile import check_sources
from erp_platform.sandbox._errors import CallContext, GuestTrap
from erp_platform.sandbox._host import GuestRequest, HostBridge
from erp_platform.sandbox._manifest import SandboxLimits
from erp_platform.sandbox._runtime import GuestOutcome

_TYPES_SOURCE = '''
from dataclasses import dataclass
from typing import Generic, TypeVar, Union

S = TypeVar("S")
T = TypeVar("T")
E = TypeVar("E")


@dataclass
class Some(Generic[S]):
    value: S


@dataclass
class Ok(Generic[T]):
    value: T


@dataclass(frozen=True)
class Err(Generic[E], Exception):
    value: E


Result = Union[Ok[T], Err[E]]
'''

_WORLD_SOURCE = '''
from typing import Protocol
from abc import abstractmethod


class WitWorld(Protocol):
    @abstractmethod
    def describe(self) -> str:
        raise NotImplementedError

    @abstractmethod
    def execute(self, operation: str, params_json: str) -> str:
        raise NotImplementedError
'''

_HOST_SOURCE = '''
from dataclasses import dataclass
from typing import List, Optional, Tuple


@dataclass
class HttpRequest:
    method: str
    url: str
    headers: List[Tuple[str, str]]
    body: Optional[str]


@dataclass
class HttpResponse:
    status: int
    headers: List[Tuple[str, str]]
    body: str


@dataclass
class PageInfo:
    page_id: int
    status: int
    record_count: int
    meta_json: str
'''


class NativeComponent:
    """Guest sources compiled to Python code objects, runnable natively (same API as a loaded component).

    Args:
        sources: module file name -> source text, e.g. ``{"guest.py": ..., "_erp_runtime.py": ...}``.
        entry: the module defining ``class WitWorld``, e.g. ``"guest"``.
    """

    runner = "native"

    def __init__(self, sources: Mapping[str, str], *, entry: str) -> None:
        check_sources(sources, entry)
        self.entry = entry
        self._code: dict[str, CodeType] = {
            name.removesuffix(".py"): compile(text, name, "exec", dont_inherit=True)
            for name, text in sources.items()
        }

    def open_guest(self, bridge: HostBridge, limits: SandboxLimits) -> NativeGuest:
        """Create the guest's private modules bound to ``bridge``."""
        return NativeGuest(self._code, self.entry, bridge)


class _Scope:
    """The private import namespace of one native guest.

    Modules get unique names under a private prefix (``_erp_sandbox_native_<n>.guest``) and are
    registered in ``sys.modules`` under those names only while the guest is open (dataclasses and
    typing look modules up there); the plain names the guest imports resolve through this scope.
    """

    _counter = itertools.count(1)

    def __init__(self, code: Mapping[str, CodeType], bridge: HostBridge) -> None:
        self._code = code
        self._prefix = f"_erp_sandbox_native_{next(self._counter)}"
        self.modules: dict[str, types.ModuleType] = {}
        self.builtins: dict[str, Any] = dict(vars(builtins))
        self.builtins["__import__"] = self._import
        self.roots = frozenset({"componentize_py_types", "wit_world", *code})
        cpt = self._execute("componentize_py_types", _compiled(_TYPES_SOURCE, "componentize_py_types.py"))
        world = self._execute("wit_world", _compiled(_WORLD_SOURCE, "wit_world.py"))
        host = self._execute("wit_world.imports.host", _compiled(_HOST_SOURCE, "host.py"))
        imports = self._new("wit_world.imports")
        _bind_host(host, bridge, cpt.Err)
        imports.host = host  # type: ignore[attr-defined]
        world.imports = imports  # type: ignore[attr-defined]

    def close(self) -> None:
        for module in self.modules.values():
            sys.modules.pop(module.__name__, None)
        self.modules.clear()

    def _new(self, name: str) -> types.ModuleType:
        module = types.ModuleType(f"{self._prefix}.{name}")
        module.__dict__["__builtins__"] = self.builtins
        module.__dict__["__file__"] = f"{name.rsplit('.', 1)[-1]}.py"
        self.modules[name] = module
        sys.modules[module.__name__] = module
        return module

    def _execute(self, name: str, code: CodeType) -> types.ModuleType:
        module = self._new(name)
        try:
            exec(code, module.__dict__)  # noqa: S102
        except BaseException:
            del self.modules[name]
            sys.modules.pop(module.__name__, None)
            raise
        return module

    def load(self, name: str) -> types.ModuleType:
        found = self.modules.get(name)
        if found is not None:
            return found
        code = self._code.get(name)
        if code is None:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return self._execute(name, code)

    def _import(
        self,
        name: str,
        globals: Mapping[str, Any] | None = None,
        locals: Mapping[str, Any] | None = None,
        fromlist: tuple[str, ...] | list[str] | None = (),
        level: int = 0,
    ) -> types.ModuleType:
        if level == 0 and name.partition(".")[0] in self.roots:
            module = self.load(name)
            return module if fromlist else self.load(name.partition(".")[0])
        return builtins.__import__(name, globals, locals, fromlist or (), level)


def _compiled(source: str, filename: str) -> CodeType:
    return compile(source, filename, "exec", dont_inherit=True)


def _bind_host(host: types.ModuleType, bridge: HostBridge, err: type[Exception]) -> None:
    response_type = host.HttpResponse
    page_type = host.PageInfo

    def _request(request: Any) -> GuestRequest:
        return GuestRequest(
            method=request.method,
            url=request.url,
            headers=[(str(k), str(v)) for k, v in request.headers],
            body=request.body,
        )

    def send(request: Any) -> Any:
        result = bridge.send(_request(request))
        if isinstance(result, str):
            raise err(result)
        return response_type(status=result.status, headers=list(result.headers), body=result.body)

    def fetch_json_records(request: Any, record_path: list[str], meta_paths: list[str]) -> Any:
        result = bridge.fetch_json_records(_request(request), list(record_path), list(meta_paths))
        if isinstance(result, str):
            raise err(result)
        return page_type(
            page_id=result.page_id,
            status=result.status,
            record_count=result.record_count,
            meta_json=result.meta_json,
        )

    def log(level: str, message: str) -> None:
        bridge.log(level, message)

    host.send = send  # type: ignore[attr-defined]
    host.fetch_json_records = fetch_json_records  # type: ignore[attr-defined]
    host.log = log  # type: ignore[attr-defined]


@dataclass
class NativeGuest:
    """One session's native guest: modules are executed once, ``WitWorld`` is created per call."""

    code: Mapping[str, CodeType]
    entry: str
    bridge: HostBridge

    def __post_init__(self) -> None:
        self._scope = _Scope(self.code, self.bridge)

    def close(self) -> None:
        self._scope.close()

    def call(self, export: str, args: tuple[str, ...], context: CallContext) -> GuestOutcome:
        """Run ``export`` natively; exceptions come back as a classified ``trap`` outcome."""
        err_type = self._scope.modules["componentize_py_types"].Err
        started = time.perf_counter()
        try:
            module = self._scope.load(self.entry)
            world = module.WitWorld()
            ready = time.perf_counter()
            value = getattr(world, export)(*args)
        except err_type as exc:
            value = getattr(exc, "value", None)
            ended = time.perf_counter()
            if export == "execute" and isinstance(value, str):
                return GuestOutcome("err", value, None, 0.0, (ended - started) * 1000, None)
            trap = GuestTrap(f"{export} raised Err with {type(value).__name__}, not str", context=context)
            return GuestOutcome("trap", "", trap, 0.0, (ended - started) * 1000, None)
        except Exception as exc:
            frames = traceback.extract_tb(exc.__traceback__)
            guest_frames = [f for f in frames if f.filename.endswith(".py")]
            last = guest_frames[-1] if guest_frames else None
            where = f" (at {last.filename} line {last.lineno})" if last is not None else ""
            trap = GuestTrap(
                f"the guest crashed with an uncaught exception: {type(exc).__name__}: {exc}"[:400] + where,
                context=context,
            )
            return GuestOutcome("trap", "", trap, 0.0, (time.perf_counter() - started) * 1000, None)
        ended = time.perf_counter()
        if not isinstance(value, str):
            trap = GuestTrap(f"{export} returned {type(value).__name__}, not str", context=context)
            return GuestOutcome("trap", "", trap, 0.0, (ended - started) * 1000, None)
        return GuestOutcome("ok", value, None, (ready - started) * 1000, (ended - ready) * 1000, None)
