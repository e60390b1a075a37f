"""``build_sdk``: spec -> SdkSpec -> generated code -> security scan -> WebAssembly component, cached.

Two caches make a second build of the same spec fast:

- generation, keyed by (spec hash, builder version): the parsed spec and the generated code are kept as
  JSON under ``<cache_dir>/builds/<builder version>/<spec hash>.json`` (checked against their code hash
  and scanned again when read);
- compilation, keyed by the content hash of the guest files (:func:`erp_platform.sandbox.compile_component`).

The security scan always runs on the code that goes into the component, cached or not: code that fails
it is refused with every finding's file and line, and nothing is compiled.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
import unicodedata
from collections.abc import Callable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from erp_platform.sandbox import compile_component, component_hash
from sdk_builder._errors import SpecError
from sdk_builder._generate import FACADE_FILE, GeneratedSdk, code_hash, generate
from sdk_builder._isolated import load_spec_isolated
from sdk_builder._limits import SpecLimits, check_size
from sdk_builder._loading import _options, spec_hash
from sdk_builder._model import ParsedSpec, SdkSpec
from sdk_builder._naming import default_name, snake_case
from sdk_builder._overrides import SdkOverrides
from sdk_builder._scan import ScanProfile, ScanReport, scan
from sdk_builder._version import BUILDER_VERSION

#: Generates the code of one SdkSpec (the default is :func:`sdk_builder.generate`).
Generator = Callable[[SdkSpec], GeneratedSdk]

_MAX_NAME = 63
_PARENTHESISED = re.compile(r"\([^)]*\)")
_HASH_CHUNK = 1024 * 1024


class BuildTimings(BaseModel):
    """Seconds spent in each stage of one build (zero for a stage served from a cache)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parse_seconds: float = 0.0
    generate_seconds: float = 0.0
    scan_seconds: float = 0.0
    compile_seconds: float = 0.0

    @property
    def total_seconds(self) -> float:
        """All stages together."""
        return self.parse_seconds + self.generate_seconds + self.scan_seconds + self.compile_seconds


class BuiltSdk(BaseModel):
    """A spec turned into scanned code and a WebAssembly component (not yet tested or registered)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    filename: str = Field(description="the spec's file name, as shown in messages")
    parsed: ParsedSpec
    generated: GeneratedSdk
    guest_scan: ScanReport = Field(description="scan of the guest files that went into the component")
    facade_scan: ScanReport = Field(description="scan of the host-side facade")
    wasm_path: Path = Field(description="the component in the compile cache")
    wasm_hash: str = Field(description="sha256 of the component's bytes")
    component_hash: str = Field(description="compile cache key: guest sources, WIT, componentize-py")
    generation_cached: bool = Field(description="parse + generate were served from the cache")
    compile_cached: bool = Field(description="the component was already in the compile cache")
    timings: BuildTimings

    @property
    def spec(self) -> SdkSpec:
        """The SdkSpec the code was generated from."""
        return self.parsed.spec

    @property
    def name(self) -> str:
        """The SDK's name."""
        return self.parsed.spec.name


def sdk_name_from_title(title: str, filename: str) -> str:
    """The default SDK name: the spec's title as a snake_case identifier, else the file name's stem.

    Parenthesised parts are dropped (``(v1.0) Dynamics 365 Business Central`` ->
    ``dynamics_365_business_central``); a title of several words keeps each word whole
    (``QuickBooks Online API`` -> ``quickbooks_online_api``), a single word is split at case changes
    (``SalesOrderService`` -> ``sales_order_service``).
    """
    title = unicodedata.normalize("NFKD", title)
    cleaned = _PARENTHESISED.sub(" ", title).strip() or title
    if len(cleaned.split()) > 1:
        cleaned = cleaned.lower()
    name = snake_case(cleaned, fallback="") if cleaned.strip() else ""
    name = name.rstrip("_")[:_MAX_NAME].rstrip("_")
    if not name or not name[0].isalpha() or not name.isascii():
        return default_name(filename)[:_MAX_NAME].rstrip("_") or "sdk"
    return name


def build_sdk(
    source: bytes | os.PathLike[str] | str,
    *,
    cache_dir: Path,
    filename: str | None = None,
    name: str | None = None,
    base_url: str | None = None,
    headers: Mapping[str, str] | None = None,
    auth_scheme: str | None = None,
    generator: Generator | None = None,
    overrides: SdkOverrides | None = None,
    limits: SpecLimits | None = None,
) -> BuiltSdk:
    """Parse, generate, scan and compile one SDK, reusing cached stages.

    Args:
        source: the spec (a path, or its raw bytes).
        cache_dir: folder of the build and compile caches (created if missing).
        filename: the spec's name in messages (default: the path's file name; required sense for bytes).
        name: the SDK's name; default: derived from the spec's title (:func:`sdk_name_from_title`).
        base_url, headers, auth_scheme: as for :func:`sdk_builder.load_spec`.
        generator: replaces :func:`sdk_builder.generate` (its output is not cached, and scanned like any).
        overrides: the operator's per-operation overrides (part of the spec hash).
        limits: bounds on reading the spec (default: the ``ERP_SPEC_*`` settings); the spec is parsed in
            a child process limited to ``limits.memory_mb`` and ``limits.timeout_seconds``.

    Returns:
        The :class:`BuiltSdk`: parsed spec, generated code, scan reports and the component's path and hash.

    Raises:
        SpecError: the spec cannot be read or builds no operation.
        SpecLimitExceeded: the spec exceeds a limit (the message names it and the setting that raises it).
        InvalidInputError: an option is invalid.
        ScanRefused: the generated code failed the security scan (file, line and rule of every finding).
        ComponentBuildError: componentize-py could not build the guest.
    """
    raw, shown = _read(source, filename)
    limits = limits or SpecLimits.from_env()
    check_size(raw, limits, shown)
    options = _options(shown, base_url, name, headers, auth_scheme, overrides=overrides)
    key = spec_hash(raw, options)
    use_cache = generator is None
    timings: dict[str, float] = {}
    cached = _read_cache(cache_dir, key) if use_cache else None
    if cached is not None:
        parsed, generated = cached
    else:
        started = time.perf_counter()
        parsed = load_spec_isolated(raw, filename=shown, base_url=base_url, name=name, headers=headers,
                                    auth_scheme=auth_scheme, overrides=overrides, limits=limits)
        if name is None:
            parsed = _with_default_name(parsed, raw, filename=shown, base_url=base_url, headers=headers,
                                        auth_scheme=auth_scheme, overrides=overrides)
        timings["parse_seconds"] = time.perf_counter() - started
        started = time.perf_counter()
        generated = (generator or generate)(parsed.spec)
        timings["generate_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    guest_scan = scan(generated.files, profile=ScanProfile.GUEST)
    facade_scan = scan({FACADE_FILE: generated.facade}, profile=ScanProfile.FACADE)
    guest_scan.raise_if_failed()
    facade_scan.raise_if_failed()
    timings["scan_seconds"] = time.perf_counter() - started
    if use_cache and cached is None:
        _write_cache(cache_dir, key, parsed, generated)
    digest = component_hash(generated.files, generated.entry_module)
    compile_cached = (cache_dir / "components" / f"{digest}.wasm").exists()
    started = time.perf_counter()
    wasm_path = compile_component(generated.files, entry=generated.entry_module, cache_dir=cache_dir)
    timings["compile_seconds"] = time.perf_counter() - started
    return BuiltSdk(
        filename=shown,
        parsed=parsed,
        generated=generated,
        guest_scan=guest_scan,
        facade_scan=facade_scan,
        wasm_path=wasm_path,
        wasm_hash=file_sha256(wasm_path),
        component_hash=digest,
        generation_cached=cached is not None,
        compile_cached=compile_cached,
        timings=BuildTimings(**timings),
    )


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# -- internals ----------------------------------------------------------------------------------------


def _read(source: bytes | os.PathLike[str] | str, filename: str | None) -> tuple[bytes, str]:
    if isinstance(source, bytes):
        return source, filename or "spec"
    path = Path(source)
    shown = filename or path.name
    try:
        return path.read_bytes(), shown
    except OSError as exc:
        raise SpecError(
            f"cannot read the spec file ({exc.strerror or exc}). Check the path.", filename=str(path)
        ) from None


def _with_default_name(
    parsed: ParsedSpec,
    raw: bytes,
    *,
    filename: str,
    base_url: str | None,
    headers: Mapping[str, str] | None,
    auth_scheme: str | None,
    overrides: SdkOverrides | None,
) -> ParsedSpec:
    """The parsed spec named after its title; the spec hash is the one ``load_spec(name=...)`` gives."""
    derived = sdk_name_from_title(parsed.spec.title, filename)
    if derived == parsed.spec.name:
        return parsed
    digest = spec_hash(raw, _options(filename, base_url, derived, headers, auth_scheme, overrides=overrides))
    spec = parsed.spec.model_copy(update={"name": derived, "spec_hash": digest})
    return parsed.model_copy(update={"spec": spec})


class _CacheEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    builder_version: str
    parsed: ParsedSpec
    generated: GeneratedSdk


def _cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / "builds" / BUILDER_VERSION / f"{key}.json"


def _read_cache(cache_dir: Path, key: str) -> tuple[ParsedSpec, GeneratedSdk] | None:
    """A cached (parsed, generated) pair, or None when absent, unreadable or not matching its hash."""
    path = _cache_path(cache_dir, key)
    try:
        entry = _CacheEntry.model_validate_json(path.read_bytes())
    except (OSError, ValidationError, ValueError):
        return None
    generated = entry.generated
    if (
        entry.builder_version != BUILDER_VERSION
        or generated.builder_version != BUILDER_VERSION
        or code_hash({**generated.files, FACADE_FILE: generated.facade}) != generated.code_hash
    ):
        path.unlink(missing_ok=True)
        return None
    return entry.parsed, generated


def _write_cache(cache_dir: Path, key: str, parsed: ParsedSpec, generated: GeneratedSdk) -> None:
    path = _cache_path(cache_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = _CacheEntry(builder_version=BUILDER_VERSION, parsed=parsed, generated=generated)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.model_dump_json().encode("utf-8"))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
