"""Build guest sources into a WebAssembly component with componentize-py, cached by content hash.

The build is hermetic: componentize-py runs with an empty environment and an empty virtualenv, so only
the guest's own modules and the standard library end up in the component (nothing from the platform's
site-packages). Concurrent builds of the same sources are safe: each writes a temporary file and
renames it atomically; a lock file keeps a second builder from doing the same work twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import keyword
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from erp_platform.sandbox._errors import ComponentBuildError

WIT_DIR = Path(__file__).parent / "wit"
WIT_FILE = WIT_DIR / "connector.wit"
WORLD = "connector"
BUILD_FORMAT = "1"  # bump when the build recipe changes (invalidates cached components)

_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\.py$")
_RESERVED = frozenset({"wit_world", "componentize_py_types", "componentize_py_runtime", "poll_loop"})
_GUEST_FRAME = re.compile(r'File "/\d+/([^"]+)", line (\d+)')


def componentize_py_version() -> str:
    """The installed componentize-py version (part of every component hash)."""
    return importlib.metadata.version("componentize-py")


def check_sources(sources: Mapping[str, str], entry: str) -> None:
    """Validate module names, the entry module and the syntax of every source.

    Raises:
        ComponentBuildError: names the file, line and column of the first problem.
    """
    if not sources:
        raise ComponentBuildError("no guest sources given; pass {'guest.py': source, ...}")
    for name in sources:
        stem = name.removesuffix(".py")
        if not _MODULE_NAME.match(name) or keyword.iskeyword(stem):
            raise ComponentBuildError(
                f"guest file name {name!r} is not a Python module file name like 'guest.py'"
            )
        if stem in _RESERVED:
            raise ComponentBuildError(f"guest file name {name!r} is reserved by componentize-py; rename it")
    if f"{entry}.py" not in sources:
        raise ComponentBuildError(
            f"entry module {entry!r} is not among the guest files ({', '.join(sorted(sources))})"
        )
    for name, text in sources.items():
        try:
            compile(text, name, "exec", dont_inherit=True)
        except SyntaxError as exc:
            where = f" line {exc.lineno}, column {exc.offset}" if exc.lineno is not None else ""
            raise ComponentBuildError(f"{name}{where}: {exc.msg}; fix the guest source") from None
        except ValueError as exc:  # e.g. null bytes
            raise ComponentBuildError(f"{name}: {exc}; fix the guest source") from None


def component_hash(sources: Mapping[str, str], entry: str) -> str:
    """Content hash of a build: sources, entry module, WIT text, componentize-py version, recipe."""
    digest = hashlib.sha256()
    header = (
        f"format={BUILD_FORMAT}\0componentize-py={componentize_py_version()}\0world={WORLD}\0entry={entry}\0"
    )
    digest.update(header.encode())
    digest.update(WIT_FILE.read_bytes())
    for name in sorted(sources):
        data = sources[name].encode("utf-8")
        digest.update(f"\0{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def compile_component(
    sources: Mapping[str, str],
    *,
    entry: str,
    cache_dir: Path,
    timeout_seconds: float = 600.0,
) -> Path:
    """Build (or reuse) the component of ``sources`` and return the path of its ``.wasm`` file.

    Args:
        sources: module file name -> source text; ``entry`` names the module with ``class WitWorld``.
        entry: entry module name without ``.py``.
        cache_dir: folder of cached components (``<hash>.wasm``), created if missing.
        timeout_seconds: longest a componentize-py run may take.

    Raises:
        ComponentBuildError: bad names, a syntax error, or componentize-py failed (the message names the
            guest file and line when componentize-py reports one).
    """
    check_sources(sources, entry)
    digest = component_hash(sources, entry)
    folder = cache_dir / "components"
    target = folder / f"{digest}.wasm"
    if target.exists():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    with _build_lock(folder / f"{digest}.lock"):
        if target.exists():
            return target
        with tempfile.TemporaryDirectory(dir=folder, prefix=f".build-{digest[:12]}-") as tmp:
            work = Path(tmp)
            source_dir = work / "src"
            source_dir.mkdir()
            for name, text in sources.items():
                (source_dir / name).write_text(text, encoding="utf-8")
            empty_env = work / "venv"
            empty_env.mkdir()
            output = work / "component.wasm"
            _run_componentize(
                entry, source_dir=source_dir, output=output, home=work, timeout_seconds=timeout_seconds
            )
            os.replace(output, target)
    return target


def _componentize_executable() -> str:
    sibling = Path(sys.executable).parent / "componentize-py"
    if sibling.exists():
        return str(sibling)
    found = shutil.which("componentize-py")
    if found is None:
        raise ComponentBuildError(
            "componentize-py is not installed; install the platform with its dependencies "
            "(pip install componentize-py==0.25.1)"
        )
    return found


def _run_componentize(
    entry: str, *, source_dir: Path, output: Path, home: Path, timeout_seconds: float
) -> None:
    command = [
        _componentize_executable(),
        "-q",
        "-d",
        str(WIT_FILE),
        "-w",
        WORLD,
        "componentize",
        entry,
        "-p",
        str(source_dir),
        "-o",
        str(output),
    ]
    # An empty environment and an empty virtualenv: only the guest's files and the standard library.
    env = {"HOME": str(home), "VIRTUAL_ENV": str(home / "venv"), "PATH": str(home), "LANG": "C.UTF-8"}
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=timeout_seconds, check=False
        )
    except subprocess.TimeoutExpired:
        raise ComponentBuildError(
            f"componentize-py did not finish building {entry!r} within {timeout_seconds:g}s"
        ) from None
    if proc.returncode != 0 or not output.exists():
        raise ComponentBuildError(_explain_failure(entry, proc.stdout + proc.stderr))


def _explain_failure(entry: str, output: str) -> str:
    frames = _GUEST_FRAME.findall(output)
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    error = next(
        (
            line
            for line in reversed(lines)
            if re.match(r"^[A-Za-z_][A-Za-z0-9_.]*(Error|Exception|Exit)\b", line)
        ),
        lines[-1] if lines else "no output",
    )
    where = f"{frames[-1][0]} line {frames[-1][1]}: " if frames else ""
    return (
        f"componentize-py could not build guest {entry!r}: {where}{error[:500]}; the guest's top-level "
        "code runs at build time, so it may only import the standard library and its own modules"
    )


@contextlib.contextmanager
def _build_lock(path: Path) -> Iterator[None]:
    """An exclusive lock file around one build (a no-op where fcntl is unavailable)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
