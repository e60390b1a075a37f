"""Resolving a load's ``mapping_ref`` to a stored mapping config of the same tenant."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from erp_platform.transforms._spec import MappingSpec
from erp_platform.workflows._hash import model_payload, payload_hash


@dataclass(frozen=True)
class ResolvedMapping:
    """The mapping config a ``mapping_ref`` names: its ACTIVE version, else (drafts) its newest."""

    name: str
    version: int
    status: str
    content_hash: str
    spec: MappingSpec


class MappingSource(Protocol):
    """The mapping configs of one tenant."""

    def names(self) -> Sequence[str]:
        """Names of the tenant's mapping configs, sorted."""
        ...

    def resolve(self, name: str) -> ResolvedMapping | None:
        """The ACTIVE version of ``name``, else its newest version; None when the tenant has none."""
        ...


class InMemoryMappingSource:
    """Mappings held in memory (tests, dry runs): every entry counts as ACTIVE version 1."""

    def __init__(self, mappings: Mapping[str, MappingSpec] | None = None) -> None:
        self._items = {
            name: ResolvedMapping(name, 1, "ACTIVE", payload_hash(model_payload(spec)), spec)
            for name, spec in (mappings or {}).items()
        }

    def names(self) -> Sequence[str]:
        return sorted(self._items)

    def resolve(self, name: str) -> ResolvedMapping | None:
        return self._items.get(name)
