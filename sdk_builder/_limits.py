"""Resource limits of reading a spec: size, decoded nodes, nesting, ``$ref`` expansion, memory and time.

A spec is untrusted input: a few hundred bytes of YAML aliases ("billion laughs") or a few KB of JSON
whose schemas each reference the next one ten times expand to billions of nodes. Each limit refuses with
a :class:`SpecLimitExceeded` naming the limit, the value reached and the setting that raises it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from sdk_builder._errors import SpecError

#: Environment variables of the limits (also settings of ``erp_platform.config``), by field name.
SETTINGS: dict[str, str] = {
    "max_bytes": "ERP_SPEC_MAX_BYTES",
    "max_nodes": "ERP_SPEC_MAX_NODES",
    "max_depth": "ERP_SPEC_MAX_DEPTH",
    "max_ref_expansions": "ERP_SPEC_MAX_REF_EXPANSIONS",
    "max_ref_chain": "ERP_SPEC_MAX_REF_CHAIN",
    "memory_mb": "ERP_SPEC_PARSE_MEMORY_MB",
    "timeout_seconds": "ERP_SPEC_PARSE_TIMEOUT_SECONDS",
}


@dataclass(frozen=True)
class SpecLimits:
    """Bounds on reading one spec (defaults admit every spec of the real-spec corpus many times over).

    Attributes:
        max_bytes: size of the spec file.
        max_nodes: values in the decoded document, with every YAML alias counted as a full copy.
        max_depth: nesting of mappings and lists in the document.
        max_ref_expansions: ``$ref`` pointers followed while building one SDK.
        max_ref_chain: ``$ref`` pointers followed to reach one value (a ``$ref`` to a ``$ref`` ...).
        memory_mb: address space of the process that parses the spec (``erp sdk build``).
        timeout_seconds: wall-clock time of that process.
    """

    max_bytes: int = 64 * 1024 * 1024
    max_nodes: int = 5_000_000
    max_depth: int = 200
    max_ref_expansions: int = 1_500_000
    max_ref_chain: int = 64
    memory_mb: int = 2048
    timeout_seconds: float = 300.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SpecLimits:
        """The limits, each taken from its ``ERP_SPEC_*`` variable when set.

        Raises:
            InvalidInputError: a variable is not a positive number (the message names it).
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for item in fields(cls):
            raw = env.get(SETTINGS[item.name], "").strip()
            if not raw:
                continue
            values[item.name] = positive(SETTINGS[item.name], raw, integer=item.name != "timeout_seconds")
        return replace(cls(), **values)


def positive(setting: str, raw: object, *, integer: bool) -> int | float:
    """``raw`` as a positive int (or float), else a ValueError naming ``setting``."""
    try:
        value: int | float = int(str(raw)) if integer else float(str(raw))
    except ValueError:
        value = 0
    if not value > 0:
        kind = "a positive integer" if integer else "a positive number of seconds"
        raise ValueError(f"{setting}={raw!r} is not {kind}")
    return value


class SpecLimitExceeded(SpecError):
    """The spec exceeds a resource limit; the message names the limit and the setting that raises it."""

    def __init__(self, what: str, *, limit_name: str, limit: int | float, filename: str,
                 unit: str = "") -> None:
        setting = SETTINGS[limit_name]
        shown = f"{limit:g}" if isinstance(limit, float) else f"{limit:,}"
        super().__init__(
            f"{what}: over the limit of {shown}{unit} ({setting}). The published ERP specs tested stay below "
            f"it; if this one is genuine, raise {setting} and build again.",
            filename=filename,
        )
        self.limit_name = limit_name


def check_size(raw: bytes, limits: SpecLimits, filename: str) -> None:
    """Refuse a spec file larger than ``limits.max_bytes``."""
    if len(raw) > limits.max_bytes:
        raise SpecLimitExceeded(
            f"the file has {len(raw):,} bytes", limit_name="max_bytes", limit=limits.max_bytes,
            filename=filename, unit=" bytes",
        )


def check_document(data: Any, limits: SpecLimits, filename: str) -> None:
    """Refuse a decoded document that is cyclic, nested too deeply or too large once aliases are expanded.

    YAML aliases make a document a graph whose shared parts a reader walks once per reference; the
    expanded size is computed once per distinct value (memoised), so the check itself stays linear.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    # Iterative post-order walk: (value, depth, children pushed?)
    stack: list[tuple[Any, int, bool]] = [(data, 1, False)]
    while stack:
        node, depth, expanded = stack.pop()
        key = id(node)
        if not isinstance(node, dict | list):
            continue
        if expanded:
            on_path.discard(key)
            children = node.values() if isinstance(node, dict) else node
            total = 1 + sum(sizes.get(id(c), 1) for c in children)
            texts = [*node.keys(), *children] if isinstance(node, dict) else children
            if any(isinstance(t, str) and "\0" in t for t in texts):
                raise nul_error(filename)
            if total > limits.max_nodes:
                raise _too_many(total, limits, filename)
            sizes[key] = total
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise SpecError(
                "a YAML alias refers to a value that contains it (a cyclic document); write the value out "
                "in full instead of using the alias.",
                filename=filename,
            )
        if depth > limits.max_depth:
            raise SpecLimitExceeded(
                f"values are nested more than {limits.max_depth} levels deep", limit_name="max_depth",
                limit=limits.max_depth, filename=filename, unit=" levels",
            )
        on_path.add(key)
        stack.append((node, depth, True))
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1, False) for child in children if isinstance(child, dict | list))


def nul_error(filename: str, line: int | None = None, column: int | None = None) -> SpecError:
    """The error for a NUL character (U+0000) in a spec: no database text column can hold it."""
    return SpecError(
        "the spec contains a NUL character (U+0000, or the escape \\u0000), which no API description needs "
        "and the registry cannot store. Remove it (it is often a copy-and-paste accident) and build again.",
        filename=filename, line=line, column=column,
    )


def _too_many(total: int, limits: SpecLimits, filename: str) -> SpecLimitExceeded:
    return SpecLimitExceeded(
        f"the document expands to at least {total:,} values (YAML aliases count once per use)",
        limit_name="max_nodes", limit=limits.max_nodes, filename=filename, unit=" values",
    )


class RefBudget:
    """Counts the work of resolving ``$ref`` pointers while building one SDK; refuses past the limits.

    Following a pointer and copying a value into an inlined schema each cost one unit.
    """

    def __init__(self, limits: SpecLimits, filename: str) -> None:
        self._limits = limits
        self._filename = filename
        self.used = 0

    def spend(self, ref: str, chain: int) -> None:
        """Account for following ``ref``, the ``chain``-th pointer on the way to one value."""
        if chain > self._limits.max_ref_chain:
            raise SpecLimitExceeded(
                f"$ref {ref!r} is reached through more than {self._limits.max_ref_chain} $ref pointers in a "
                "row",
                limit_name="max_ref_chain", limit=self._limits.max_ref_chain, filename=self._filename,
                unit=" pointers",
            )
        self.copy()

    def check_inline(self, values: int) -> None:
        """Refuse inlining one schema that would expand to more values than the whole build may."""
        if values > self._limits.max_ref_expansions:
            raise SpecLimitExceeded(
                f"one schema expands to {values:,} values once its $ref pointers are inlined (schemas that "
                "reference each other many times over)",
                limit_name="max_ref_expansions", limit=self._limits.max_ref_expansions,
                filename=self._filename, unit=" values",
            )

    def copy(self) -> None:
        """Account for one value copied while inlining referenced schemas."""
        self.used += 1
        if self.used > self._limits.max_ref_expansions:
            raise SpecLimitExceeded(
                "resolving the $ref pointers expands the spec to more than "
                f"{self._limits.max_ref_expansions:,} values (schemas that reference each other many times "
                "over)",
                limit_name="max_ref_expansions", limit=self._limits.max_ref_expansions,
                filename=self._filename, unit=" values",
            )
