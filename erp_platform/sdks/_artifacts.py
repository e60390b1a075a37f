"""SDK artifacts in the object store: written once per version, read back only after a hash check.

Layout under ``tenants/{tenant}/sdks/{name}/v{version}/``: ``spec/<file>``, ``code/<guest files>``,
``facade.py``, ``component.wasm`` and ``precompiled/<engine>/<sha256>.cwasm`` (machine code for one
wasmtime build; its name is its content hash, which the registry row holds through ``precompiled_ref``).
Loaded components are kept on local disk and in memory by content hash, so a second session is instant.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from wasmtime import WasmtimeError

from erp_platform._errors import ArtifactIntegrityError, TenantIsolationError
from erp_platform._files import atomic_write_bytes
from erp_platform.objectstore import ObjectKey, ObjectStore, sdk_artifact_key
from erp_platform.sandbox import LoadedComponent, SandboxRuntime
from erp_platform.sdks._models import ArtifactRefs

#: Which engine a precompiled module was made for (wasmtime version + the runtime's engine config).
ENGINE_KEY = f"wasmtime-{importlib.metadata.version('wasmtime')}-fuel-epoch"
_PRECOMPILED = re.compile(r"^precompiled/([A-Za-z0-9._=+@,-]+)/([0-9a-f]{64})\.cwasm$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._=+@,-]+")


@dataclass(frozen=True)
class ArtifactSet:
    """Everything one build stores."""

    spec_bytes: bytes
    spec_filename: str
    files: Mapping[str, str]
    facade: str
    wasm_path: Path
    precompiled: bytes

    @property
    def total_bytes(self) -> int:
        """What storing them takes in the object store."""
        files = sum(len(source.encode("utf-8")) for source in self.files.values())
        return (len(self.spec_bytes) + files + len(self.facade.encode("utf-8"))
                + self.wasm_path.stat().st_size + len(self.precompiled))


@dataclass(frozen=True)
class VersionRef:
    """Which SDK version an artifact belongs to (for keys and messages)."""

    tenant: str
    name: str
    version: int

    @property
    def label(self) -> str:
        return f"SDK {self.name!r} v{self.version} of tenant {self.tenant!r}"

    def key(self, *parts: str) -> ObjectKey:
        return sdk_artifact_key(self.tenant, self.name, self.version, *parts)


def sha256_hex(data: bytes) -> str:
    """sha256 of ``data`` as hex."""
    return hashlib.sha256(data).hexdigest()


def store_artifacts(objects: ObjectStore, ref: VersionRef, artifacts: ArtifactSet) -> ArtifactRefs:
    """Write one version's artifacts under its folder and return their keys.

    Called while the version's row is being inserted (under the SDK's lock), so no committed version
    owns these keys yet: objects left by an earlier, failed attempt at the same version are replaced.

    Raises:
        StorageQuotaExceededError: the artifacts do not fit the tenant's storage quota (checked before
            the first write, so nothing is written).
    """
    objects.check_room(ref.tenant, artifacts.total_bytes, f"the artifacts of {ref.label}")
    spec_name = _safe_name(artifacts.spec_filename)
    spec_key = ref.key("spec", spec_name)
    objects.put_bytes(spec_key, artifacts.spec_bytes)
    for filename, source in sorted(artifacts.files.items()):
        objects.put_bytes(ref.key("code", filename), source.encode("utf-8"))
    facade_key = ref.key("facade.py")
    objects.put_bytes(facade_key, artifacts.facade.encode("utf-8"))
    wasm_key = ref.key("component.wasm")
    objects.put_file(wasm_key, artifacts.wasm_path)
    precompiled_key = ref.key("precompiled", ENGINE_KEY, f"{sha256_hex(artifacts.precompiled)}.cwasm")
    objects.put_bytes(precompiled_key, artifacts.precompiled)
    return ArtifactRefs(
        spec=spec_key.path,
        code=ref.key("code").path,
        facade=facade_key.path,
        wasm=wasm_key.path,
        precompiled=precompiled_key.path,
    )


def artifact_key(ref: VersionRef, stored: str) -> ObjectKey:
    """The object key of a stored reference, which must lie inside the version's own folder.

    Raises:
        TenantIsolationError: the reference points elsewhere (the registry row was altered).
    """
    folder = ref.key().path + "/"
    if not stored.startswith(folder):
        raise TenantIsolationError(
            f"{ref.label}: artifact reference {stored!r} lies outside the version's folder {folder}; the "
            "registry row was changed outside the platform. Revoke the version and build the SDK again"
        )
    return ref.key(stored[len(folder):])


class ComponentLoader:
    """Loads a version's component: verified against the registry's hashes, cached by content hash.

    The in-memory and on-disk caches hold only bytes whose hash was checked, keyed by that hash, so
    they hold nothing tenant-specific; the object store is read (and checked) on a cache miss.
    """

    def __init__(self, objects: ObjectStore, runtime: SandboxRuntime, cache_dir: Path) -> None:
        self._objects = objects
        self._runtime = runtime
        self._cache = cache_dir / "artifacts"
        self._loaded: dict[str, LoadedComponent] = {}
        self._lock = threading.Lock()

    def load(
        self, ref: VersionRef, *, precompiled_ref: str | None, wasm_ref: str | None, wasm_hash: str | None
    ) -> LoadedComponent:
        """The component of one version, ready for sessions.

        Raises:
            ArtifactIntegrityError: a stored artifact's hash differs from the registry's.
            TenantIsolationError: a reference points outside the version's folder.
        """
        if precompiled_ref is not None:
            key = artifact_key(ref, precompiled_ref)
            match = _PRECOMPILED.match("/".join(key.segments[3:]))  # after sdks/<name>/v<n>/
            if match is not None and match.group(1) == ENGINE_KEY:
                expected = match.group(2)
                with self._lock:
                    found = self._loaded.get(expected)
                if found is not None:
                    return found
                data = self._verified_bytes(ref, key, expected, "precompiled module", ".cwasm")
                try:
                    loaded = self._runtime.load_precompiled(data, wasm_hash=f"precompiled-{expected}")
                except WasmtimeError:
                    loaded = None  # made by an incompatible engine after all: compile the component
                if loaded is not None:
                    with self._lock:
                        return self._loaded.setdefault(expected, loaded)
        if wasm_ref is None or wasm_hash is None:
            raise ArtifactIntegrityError(
                f"{ref.label} has no stored component (wasm_ref or wasm_hash is empty); build the SDK again"
            )
        key = artifact_key(ref, wasm_ref)
        with self._lock:
            found = self._loaded.get(wasm_hash)
        if found is not None:
            return found
        data = self._verified_bytes(ref, key, wasm_hash, "component", ".wasm")
        loaded = self._runtime.load_component(data)
        with self._lock:
            return self._loaded.setdefault(wasm_hash, loaded)

    def _verified_bytes(
        self, ref: VersionRef, key: ObjectKey, expected: str, what: str, suffix: str
    ) -> bytes:
        path = self._cache / f"{expected}{suffix}"
        try:
            data = path.read_bytes()
        except OSError:
            data = None
        if data is not None and sha256_hex(data) == expected:
            return data
        data = self._objects.get_bytes(key)
        actual = sha256_hex(data)
        if actual != expected:
            raise ArtifactIntegrityError(
                f"{ref.label}: the stored {what} {key} has sha256 {actual}, but the registry recorded "
                f"{expected}: it was changed after the build. It will not be loaded; revoke this version "
                f"(`erp sdk revoke {ref.tenant} {ref.name} {ref.version}`) and build the SDK again"
            )
        atomic_write_bytes(path, data)
        return data


def _safe_name(filename: str) -> str:
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".")[:200]
    return cleaned or "spec"
