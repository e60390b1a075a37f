"""Fixtures of the sdk_builder tests: real specs, built once per session, and a native guest loader."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import pytest
from sdkb_harness import SPECS, LoadedGuest, Responder, load_guest, make_bindings

from sdk_builder import GeneratedSdk, ParsedSpec, generate, load_spec

SAP_V2_ROOT = "https://sap.example.com/sap/opu/odata/sap/API_TEST_SRV"
SAP_V4_ROOT = "https://sap.example.com/sap/opu/odata4/sap/api_test_srv/0001"

REAL_SPECS: dict[str, tuple[str, dict[str, str]]] = {
    "business_central": ("dynamics365_business_central_v1.openapi.yaml", {}),
    "quickbooks": ("quickbooks_online_v3.openapi.yaml", {}),
    "sap_v2": ("odata/sap_cloud_sdk_API_TEST_SRV.v2.edmx", {"base_url": SAP_V2_ROOT}),
    "sap_v4": ("odata/sap_cloud_sdk_API_TEST_SRV.v4.edmx", {"base_url": SAP_V4_ROOT}),
}


@pytest.fixture(scope="session")
def real_specs() -> dict[str, ParsedSpec]:
    """Every spec of shared/specs, parsed once."""
    return {
        key: load_spec(SPECS / file, name=key, **options)  # type: ignore[arg-type]
        for key, (file, options) in REAL_SPECS.items()
    }


@pytest.fixture(scope="session")
def real_sdks(real_specs: dict[str, ParsedSpec]) -> dict[str, GeneratedSdk]:
    """Every spec of shared/specs, generated once."""
    return {key: generate(parsed.spec) for key, parsed in real_specs.items()}


@pytest.fixture(scope="session")
def bindings(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real componentize-py bindings of the connector world."""
    return make_bindings(tmp_path_factory.mktemp("bindings") / "out")


GuestLoader = Callable[[GeneratedSdk, Responder], AbstractContextManager[LoadedGuest]]


@pytest.fixture
def guest_loader(bindings: Path, tmp_path: Path) -> Iterator[GuestLoader]:
    """Open a generated guest natively: ``with guest_loader(sdk, responder) as guest: ...``."""
    counter = itertools.count()

    def open_guest(sdk: GeneratedSdk, responder: Responder) -> AbstractContextManager[LoadedGuest]:
        workdir = tmp_path / f"guest{next(counter)}"
        return load_guest(sdk.files, sdk.entry_module, bindings, workdir, responder)

    yield open_guest
