"""Parsing an untrusted spec in a child process bounded in memory (``RLIMIT_AS``) and wall-clock time.

The in-process limits (:mod:`sdk_builder._limits`) catch the known bombs early and cheaply; the child
process bounds whatever they miss, so a spec can never take the building process (a CLI, a service, a
code server) down with it. The child reads one request on standard input (a JSON line with the options,
then the spec's bytes) and writes the :class:`ParsedSpec` or the error as one JSON document.

Run as ``python -m sdk_builder._isolated`` (only by :func:`load_spec_isolated`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

from erp_platform._errors import InvalidInputError
from sdk_builder._errors import GenerationError, SpecError
from sdk_builder._limits import SpecLimitExceeded, SpecLimits
from sdk_builder._model import ParsedSpec
from sdk_builder._overrides import SdkOverrides

_MB = 1024 * 1024


def load_spec_isolated(
    raw: bytes,
    *,
    filename: str,
    base_url: str | None = None,
    name: str | None = None,
    headers: Mapping[str, str] | None = None,
    auth_scheme: str | None = None,
    overrides: SdkOverrides | None = None,
    limits: SpecLimits | None = None,
) -> ParsedSpec:
    """:func:`sdk_builder.load_spec` on ``raw`` in a child process with the memory and time limits.

    Raises:
        SpecError: the spec cannot be parsed, or builds no operation.
        SpecLimitExceeded: a limit was reached (the message names it and its setting).
        InvalidInputError: an option is invalid.
    """
    limits = limits or SpecLimits.from_env()
    request = {
        "filename": filename, "base_url": base_url, "name": name, "headers": dict(headers or {}),
        "auth_scheme": auth_scheme, "limits": asdict(limits),
        "overrides": None if overrides is None else overrides.model_dump(mode="json", exclude_unset=True),
    }
    payload = json.dumps(request).encode("utf-8") + b"\n" + raw
    try:
        done = subprocess.run(  # this interpreter, this module, no shell
            [sys.executable, "-m", "sdk_builder._isolated"], input=payload, capture_output=True,
            timeout=limits.timeout_seconds, check=False,
        )
    except subprocess.TimeoutExpired:
        raise SpecLimitExceeded(
            f"reading the spec took longer than {limits.timeout_seconds:g} seconds",
            limit_name="timeout_seconds", limit=limits.timeout_seconds, filename=filename, unit=" s",
        ) from None
    try:
        answer: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        answer = {}
    if "parsed" in answer:
        return ParsedSpec.model_validate(answer["parsed"])
    if "error" in answer:
        raise _rebuilt(answer["error"], filename)
    raise _stopped(done.returncode, done.stderr, limits, filename)


def _rebuilt(error: Mapping[str, Any], filename: str) -> Exception:
    kind, message = str(error.get("kind")), str(error.get("message"))
    if kind == "limit":
        exc = SpecLimitExceeded.__new__(SpecLimitExceeded)
        InvalidInputError.__init__(exc, message)
        exc.filename, exc.line, exc.column = filename, None, None
        exc.limit_name = str(error.get("limit_name"))
        return exc
    if kind == "spec":
        return SpecError(message, filename=filename, line=error.get("line"), column=error.get("column"))
    if kind == "input":
        return InvalidInputError(message)
    return GenerationError(f"{filename}: the spec reader failed ({message}); this is a builder bug")


def _stopped(code: int, stderr: bytes, limits: SpecLimits, filename: str) -> Exception:
    tail = stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
    if "MemoryError" in tail[0] or "memory" in tail[0].lower() or code < 0:
        return SpecLimitExceeded(
            f"reading the spec needs more than {limits.memory_mb:,} MB of memory",
            limit_name="memory_mb", limit=limits.memory_mb, filename=filename, unit=" MB",
        )
    return GenerationError(
        f"{filename}: the spec reader stopped with exit status {code} ({tail[0][:200]}); this is a builder bug"
    )


def _serve() -> int:
    """The child's side: limit itself, read the request, answer with the parsed spec or the error."""
    import resource

    from sdk_builder._loading import load_spec

    stdin = sys.stdin.buffer
    request = json.loads(stdin.readline())
    limits = SpecLimits(**request["limits"])
    budget = limits.memory_mb * _MB
    resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    raw = stdin.read()
    overrides = request["overrides"]
    try:
        parsed = load_spec(
            raw, filename=request["filename"], base_url=request["base_url"], name=request["name"],
            headers=request["headers"], auth_scheme=request["auth_scheme"], limits=limits,
            overrides=None if overrides is None else SdkOverrides.model_validate(overrides),
        )
        answer: dict[str, Any] = {"parsed": parsed.model_dump(mode="json")}
    except SpecLimitExceeded as exc:
        answer = {"error": {"kind": "limit", "message": str(exc), "limit_name": exc.limit_name}}
    except SpecError as exc:
        answer = {"error": {"kind": "spec", "message": exc.reason, "line": exc.line, "column": exc.column}}
    except InvalidInputError as exc:
        answer = {"error": {"kind": "input", "message": str(exc)}}
    except MemoryError:
        del raw
        answer = {"error": {"kind": "limit", "limit_name": "memory_mb", "message": str(SpecLimitExceeded(
            f"reading the spec needs more than {limits.memory_mb:,} MB of memory", limit_name="memory_mb",
            limit=limits.memory_mb, filename=request["filename"], unit=" MB",
        ))}}
    except RecursionError:
        answer = {"error": {"kind": "limit", "limit_name": "max_depth", "message": str(SpecLimitExceeded(
            "values are nested too deeply to read", limit_name="max_depth", limit=limits.max_depth,
            filename=request["filename"], unit=" levels",
        ))}}
    except Exception as exc:  # reported to the parent as a builder bug
        answer = {"error": {"kind": "bug", "message": f"{type(exc).__name__}: {exc}"[:500]}}
    sys.stdout.write(json.dumps(answer))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(_serve())
