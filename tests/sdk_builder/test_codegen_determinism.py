"""Same input -> byte-identical files and the same hashes, in this process and in others."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from typing import Any

from sdkb_harness import FIXTURES, REPO, SPECS

from sdk_builder import BUILDER_VERSION, generate, load_spec
from sdk_builder._loading import spec_hash
from sdk_builder._openapi import BuildOptions

HASHES = """
import json, sys
from sdk_builder import generate, load_spec
root, fixtures = sys.argv[1], sys.argv[2]
out = {}
for key, path, base in [
    ("bc", root + "/dynamics365_business_central_v1.openapi.yaml", None),
    ("qb", root + "/quickbooks_online_v3.openapi.yaml", None),
    ("v2", root + "/odata/sap_cloud_sdk_API_TEST_SRV.v2.edmx", "https://sap.example.com/x"),
    ("v4", root + "/odata/sap_cloud_sdk_API_TEST_SRV.v4.edmx", "https://sap.example.com/x"),
    ("mock", fixtures + "/mock_erp_styles.openapi.json", None),
]:
    sdk = generate(load_spec(path, base_url=base).spec)
    out[key] = [sdk.spec_hash, sdk.code_hash]
print(json.dumps(out))
"""


def _hashes_in_subprocess(seed: str) -> dict[str, list[str]]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    done = subprocess.run([sys.executable, "-c", HASHES, str(SPECS), str(FIXTURES)], env=env, cwd=REPO,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_two_builds_are_byte_identical(real_specs: Any, real_sdks: Any) -> None:
    for key, sdk in real_sdks.items():
        again = generate(load_spec(SPECS / _source(key), name=key, **_options(key)).spec)
        assert again.files == sdk.files and again.facade == sdk.facade
        assert (again.code_hash, again.spec_hash) == (sdk.code_hash, sdk.spec_hash)
        assert again.builder_version == BUILDER_VERSION
        assert real_specs[key].spec.spec_hash == sdk.spec_hash


def test_hashes_do_not_depend_on_the_process() -> None:
    first, second = _hashes_in_subprocess("1"), _hashes_in_subprocess("4242")
    assert first == second
    local = generate(load_spec(FIXTURES / "mock_erp_styles.openapi.json").spec)
    assert first["mock"] == [local.spec_hash, local.code_hash]


def test_hash_definitions(real_sdks: Any) -> None:
    sdk = real_sdks["quickbooks"]
    digest = hashlib.sha256()
    for name, text in sorted({**sdk.files, "facade.py": sdk.facade}.items()):
        digest.update(name.encode() + b"\0" + text.encode() + b"\0")
    assert sdk.code_hash == digest.hexdigest()
    raw = (SPECS / "quickbooks_online_v3.openapi.yaml").read_bytes()
    options = BuildOptions(filename="quickbooks_online_v3.openapi.yaml", name="quickbooks")
    assert sdk.spec_hash == spec_hash(raw, options)
    assert spec_hash(raw, options) != spec_hash(raw + b"\n", options)


def test_options_change_the_spec_hash_and_names_change_the_code() -> None:
    path = FIXTURES / "mock_erp_styles.openapi.json"
    base = generate(load_spec(path).spec)
    moved = generate(load_spec(path, base_url="https://erp.acme.example/").spec)
    renamed = generate(load_spec(path, name="acme_erp").spec)
    assert moved.spec_hash != base.spec_hash and moved.code_hash == base.code_hash
    assert renamed.code_hash != base.code_hash
    assert renamed.files["_erp_runtime.py"] == base.files["_erp_runtime.py"]


def _source(key: str) -> str:
    from conftest import REAL_SPECS

    return REAL_SPECS[key][0]


def _options(key: str) -> dict[str, str]:
    from conftest import REAL_SPECS

    return REAL_SPECS[key][1]
