"""Content hashes: canonical JSON (sorted keys, defaults included, by alias) without ``lifecycle``."""

from __future__ import annotations

import hashlib
import json

from erp_platform.workflows import (
    HASH_EXCLUDED_FIELDS,
    canonical_json,
    content_hash,
    definition_payload,
    load_document,
    parse_definition,
    stored_definition_hash,
)
from tests.workflows.samples import VALID


def _hash(text: str, filename: str = "wf.yaml") -> str:
    return content_hash(parse_definition(text, filename=filename))


def _reorder(value: object) -> object:
    """The same data with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {k: _reorder(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reorder(v) for v in value]
    return value


def test_hash_is_sha256_of_canonical_json_without_lifecycle() -> None:
    definition = parse_definition(VALID, filename="wf.yaml")
    payload = definition_payload(definition)
    assert frozenset({"lifecycle"}) == HASH_EXCLUDED_FIELDS
    assert "lifecycle" in payload
    without = {k: v for k, v in payload.items() if k != "lifecycle"}
    text = json.dumps(without, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert content_hash(definition) == hashlib.sha256(text.encode()).hexdigest()
    assert stored_definition_hash(payload) == content_hash(definition)


def test_yaml_and_json_give_the_same_hash() -> None:
    data = load_document(VALID, filename="wf.yaml")
    as_json = json.dumps(data, indent=2)
    assert _hash(as_json, "wf.json") == _hash(VALID)


def test_key_order_does_not_matter() -> None:
    data = load_document(VALID, filename="wf.yaml")
    reordered = json.dumps(_reorder(data))
    assert list(json.loads(reordered)) != list(data)
    assert _hash(reordered, "wf.json") == _hash(VALID)


def test_explicit_defaults_hash_like_omitted_ones() -> None:
    explicit = VALID.replace(
        "description: Orders",
        "retry_policy: {max_attempts: 3, initial_interval_seconds: 1, backoff_coefficient: 2.0}\n"
        "description: Orders",
    ).replace(
        "      incremental: true\n", "      incremental: true\n      page_size: null\n      checkpoint_rows: 10000\n"
    )
    assert explicit != VALID
    assert _hash(explicit) == _hash(VALID)


def test_by_alias_keeps_the_join_key_name() -> None:
    payload = definition_payload(parse_definition(VALID, filename="wf.yaml"))
    join = payload["activities"][2]["config"]["steps"][1]
    assert join["with"] == "customers"
    assert "with_" not in join


def test_lifecycle_is_not_part_of_the_hash() -> None:
    dated = VALID + "lifecycle: {deprecated_after: 2027-01-01, force_cancel_after: 2027-02-01}\n"
    assert _hash(dated) == _hash(VALID)


def test_any_other_change_is_a_new_hash() -> None:
    changes = [
        VALID.replace("cron: \"0 * * * *\"", "cron: \"30 * * * *\""),
        VALID.replace("description: Orders with", "description: All orders with"),
        VALID.replace("required_capabilities: [\"read:orders\"]", "required_capabilities: []"),
        VALID.replace("{company_id: c1}\n      incremental", "{company_id: c2}\n      incremental"),
        VALID + "retry_policy: {max_attempts: 4}\n",
    ]
    hashes = {_hash(text) for text in changes}
    assert len(hashes) == len(changes)
    assert _hash(VALID) not in hashes


def test_integral_floats_are_written_as_integers() -> None:
    canonical = canonical_json({"b": 60.0, "a": [1.5, 2.0, {"z": 1e20}]})
    assert canonical == '{"a":[1.5,2,{"z":100000000000000000000}],"b":60}'
    as_int = VALID.replace("c1}\n      incremental", "c1, limit: 5}\n      incremental")
    as_float = as_int.replace("limit: 5}", "limit: 5.0}")
    assert _hash(as_int) == _hash(as_float)
