"""Content hashes of artifacts: sha256 over canonical JSON.

Canonical JSON: the model dumped in JSON mode ``by_alias`` with every default included, keys sorted, no
whitespace, UTF-8, and numbers normalised (a float with an integral value is written as an integer, so
``60`` and ``60.0`` hash alike, and the value survives a round trip through Postgres ``jsonb``).

A workflow's hash EXCLUDES ``lifecycle``: ``deprecated_after`` / ``force_cancel_after`` are operational
dates that ``erp workflow deprecate`` changes on a stored version without making a new one. Everything else
(activities, steps, triggers, retry policy, compatibility, description) is covered: changing any of it is a
new version.

The registry stores :func:`definition_payload` (the normalised dump) and verifies a stored version by hashing
the stored JSON itself with :func:`payload_hash`, not a re-dump through today's model, so a later release
that adds a field with a default does not make every stored version look tampered with.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from erp_platform.workflows._definition import WorkflowDefinition

HASH_EXCLUDED_FIELDS = frozenset({"lifecycle"})


def _normalise(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {str(k): _normalise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    return value


def canonical_json(data: Any) -> str:
    """Sorted keys, no whitespace, integral floats as integers."""
    return json.dumps(
        _normalise(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def model_payload(model: BaseModel) -> dict[str, Any]:
    """The model as normalised JSON data (``by_alias``, defaults included): what the registry stores."""
    data: dict[str, Any] = _normalise(model.model_dump(mode="json", by_alias=True))
    return data


def payload_hash(payload: dict[str, Any], *, exclude: frozenset[str] = frozenset()) -> str:
    """sha256 (hex) of the canonical JSON of ``payload`` without the top-level keys in ``exclude``."""
    kept = {k: v for k, v in payload.items() if k not in exclude}
    return hashlib.sha256(canonical_json(kept).encode("utf-8")).hexdigest()


def definition_payload(definition: WorkflowDefinition) -> dict[str, Any]:
    """The definition as stored in ``workflow_definitions.definition`` (lifecycle included)."""
    return model_payload(definition)


def content_hash(definition: WorkflowDefinition) -> str:
    """The workflow's content hash: sha256 of its canonical JSON without ``lifecycle``."""
    return payload_hash(definition_payload(definition), exclude=HASH_EXCLUDED_FIELDS)


def stored_definition_hash(stored: dict[str, Any]) -> str:
    """The content hash of a definition as stored in the registry (for integrity checks)."""
    return payload_hash(stored, exclude=HASH_EXCLUDED_FIELDS)
