"""Business keys: the target columns that identify a row, named by target column or by source field."""

from __future__ import annotations

from collections.abc import Sequence

from erp_platform._errors import Problem
from erp_platform.transforms._names import did_you_mean_field
from erp_platform.transforms._spec import MappingSpec


def resolve_business_key(keys: Sequence[str], mapping: MappingSpec, *,
                         path: str = "business_key") -> tuple[list[str], list[Problem]]:
    """The target columns ``keys`` name, in order, and every problem.

    Each key names a target column of the (complete) mapping, or else a source field that the mapping
    maps to exactly one target column (``ContactID`` -> ``contact_id``). Target names win when a name is
    both.
    """
    targets = [str(c.target) for c in mapping.columns]
    by_source: dict[str, list[str]] = {}
    for entry in mapping.columns:
        by_source.setdefault(entry.source, []).append(str(entry.target))
    unique = [source for source, columns in by_source.items() if len(columns) == 1]  # usable as keys
    resolved: list[str] = []
    problems: list[Problem] = []
    for i, key in enumerate(keys):
        at = f"{path}[{i}]"
        if key in targets:
            column = key
        elif len(by_source.get(key, ())) == 1:
            column = by_source[key][0]
        elif key in by_source:
            problems.append(Problem(at, f"source field {key!r} is mapped to several columns "
                                    f"({', '.join(by_source[key])}): name the target column to key on", key))
            continue
        else:
            problems.append(Problem(at, f"business key column {key!r} is not a target of the mapping"
                                    f"{did_you_mean_field(key, [*targets, *unique])}; map a field to it, or name "
                                    "a target "
                                    f"column ({', '.join(targets)}) or the source field mapped to one", key))
            continue
        if column in resolved:
            named = "" if column == key else f" (source field {key!r} is mapped to it)"
            problems.append(Problem(at, f"column {column!r} is in the business key twice{named}", key))
            continue
        resolved.append(column)
    return resolved, problems
