"""The native runner: same guest source in this CPython, private import scope, same host services."""

from __future__ import annotations

import sys

import pytest

from erp_platform.sandbox import (
    EgressDenied,
    GuestTrap,
    InvalidGuestOutput,
    LoadedComponent,
    NativeComponent,
    SdkCallError,
)
from tests.sandbox.conftest import HOSTILE_SOURCES, Harness

DATACLASS_GUEST = '''from __future__ import annotations

import json
from dataclasses import dataclass

import wit_world
from componentize_py_types import Err
from helpers import shout


@dataclass(frozen=True)
class Reply:
    text: str


class WitWorld(wit_world.WitWorld):
    def describe(self) -> str:
        return json.dumps({"name": "dc"})

    def execute(self, operation: str, params_json: str) -> str:
        if operation == "fail":
            raise Err(json.dumps({"kind": "nope", "message": "asked to fail", "retryable": True}))
        return json.dumps({"result": Reply(shout(operation)).text})
'''


def guest_module_names() -> set[str]:
    roots = ("wit_world", "componentize_py_types", "erp_connector", "hostile_guest", "helpers")
    return {name for name in sys.modules if name.split(".")[0] in roots}


def test_guest_modules_never_leak_into_sys_modules(
    harness: Harness, native_connector: NativeComponent
) -> None:
    before = set(sys.modules)
    with harness.session(native_connector) as session:
        assert len(session.call("list_customers", {"_page_size": 5}).records) == 5
        assert guest_module_names() == set()
        private = {name for name in sys.modules if name.startswith("_erp_sandbox_native_")}
        assert private
    assert guest_module_names() == set()
    assert {name for name in set(sys.modules) - before if name.startswith("_erp_sandbox_native_")} == set()


def test_own_modules_dataclasses_and_future_annotations_work(harness: Harness) -> None:
    component = NativeComponent(
        {"dc.py": DATACLASS_GUEST, "helpers.py": "def shout(text):\n    return text.upper() + '!'\n"},
        entry="dc",
    )
    with harness.session(component) as session:
        assert session.call("hello").result == "HELLO!"
        assert session.describe() == {"name": "dc"}
        with pytest.raises(SdkCallError) as caught:
            session.call("fail")
    assert caught.value.transient is True
    assert str(caught.value) == (
        "tenant 'acme', SDK 'test-erp' v3, operation 'fail': the SDK reported nope: asked to fail"
    )


def test_each_session_binds_its_own_host(harness: Harness, native_connector: NativeComponent) -> None:
    acme = harness.session(native_connector, harness.manifest(tenant="acme"))
    globex = harness.session(native_connector, harness.manifest(tenant="globex"))
    with acme, globex:
        acme.call("list_customers", {"_page_size": 2})
        globex.call("list_customers", {"_page_size": 3})
        acme.call("get_customer", {"id": 1})
    assert [(r.tenant, r.path) for r in harness.recorder.records] == [
        ("acme", "/odata/v4/customers"), ("globex", "/odata/v4/customers"), ("acme", "/api/v1/customers/1"),
    ]


@pytest.mark.parametrize(
    ("operation", "params", "error", "detail"),
    [
        ("uncaught", {}, GuestTrap, "the guest crashed with an uncaught exception: ValueError: hostile guest "
         "gave up (at hostile_guest.py line 142)"),
        ("forged_page", {}, InvalidGuestOutput, "host_page 42 was not fetched in this call (pages fetched: "
         "none)"),
        ("request", {"url": "http://127.0.0.1/"}, EgressDenied, "egress denied for http://127.0.0.1/: "
         "127.0.0.1 is a loopback address; private, loopback, link-local, CGNAT, multicast, unspecified and "
         "metadata addresses are refused unless the tenant's egress policy allows '127.0.0.1:80'"),
    ],
)
def test_native_and_sandbox_fail_the_same_way(
    harness: Harness,
    hostile: LoadedComponent,
    operation: str,
    params: dict[str, str],
    error: type[Exception],
    detail: str,
) -> None:
    native = NativeComponent(HOSTILE_SOURCES, entry="hostile_guest")
    manifest = harness.manifest(sdk_name="hostile")
    messages = []
    for component in (hostile, native):
        with harness.session(component, manifest) as session, pytest.raises(error) as caught:
            session.call(operation, params)
        messages.append(str(caught.value))
    expected = f"tenant 'acme', SDK 'hostile' v3, operation '{operation}': {detail}"
    assert messages == [expected, expected]
