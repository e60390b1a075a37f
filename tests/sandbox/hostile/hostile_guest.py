"""One hostile guest, one operation per attack (compiled directly, without any security scan).

Attacks that the host can see swallow the host's error string and return a normal-looking page, so the
tests prove the host raises the violation anyway. Attacks that WASI or CPython-in-WASM block are left
uncaught, so the tests see the specific error through the guest's trap.
"""

import json
import os
import sys
import time

import wit_world
from componentize_py_types import Err
from wit_world.imports import host


def _send(url, headers=(), method="GET"):
    try:
        response = host.send(host.HttpRequest(method, url, list(headers), None))
        return {"status": response.status, "body": response.body[:200]}
    except Err as error:  # swallow: the host must remember the violation anyway
        return {"swallowed": error.value}


def ping(params):
    return {"result": "pong"}


def read_passwd(params):
    with open("/etc/passwd") as handle:
        return {"result": handle.read()}


def list_root(params):
    return {"result": os.listdir("/")}


def environment(params):
    return {"result": {"environ": dict(os.environ), "argv": list(sys.argv)}}


def open_socket(params):
    import socket

    connection = socket.create_connection(("127.0.0.1", int(params.get("port", 80))))
    return {"result": str(connection)}


def run_subprocess(params):
    import subprocess

    return {"result": subprocess.run(["cat", "/etc/passwd"], capture_output=True).stdout}


def load_ctypes(params):
    import ctypes

    return {"result": str(ctypes.CDLL(None))}


def infinite_loop(params):
    counter = 0
    while True:
        counter += 1


def clock_spin(params):
    # A wall-clock hog that costs little fuel: every iteration is a cheap host call.
    while True:
        time.monotonic()


def long_sleep(params):
    time.sleep(3600)
    return {"result": "woke up"}


def short_sleep(params):
    time.sleep(0.01)
    return {"result": "woke up"}


def deep_recursion(params):
    sys.setrecursionlimit(10**8)

    def down(depth):
        return down(depth + 1) + 1

    return {"result": down(0)}


def memory_bomb(params):
    hoard = []
    while True:
        hoard.append(bytearray(8 * 1024 * 1024))


def output_bomb(params):
    return {"result": "x" * int(params.get("size", 64 * 1024 * 1024))}


def exit_process(params):
    os._exit(3)


def request(params):
    headers = [tuple(h) for h in params.get("headers", [])]
    return {"result": _send(params["url"], headers, params.get("method", "GET"))}


def flood(params):
    results = [_send(params.get("url", "/api/v1/customers/1")) for _ in range(int(params.get("count", 100)))]
    return {"result": results[-1]}


def fetch_not_json(params):
    try:
        page = host.fetch_json_records(host.HttpRequest("GET", params["url"], [], None), ["value"], [])
        return {"host_page": page.page_id}
    except Err as error:
        return {"result": {"swallowed": error.value}}


def invalid_output(params):
    return "this is not JSON"


def wrong_shape(params):
    return {"records": 5, "unexpected": True}


def forged_page(params):
    return {"host_page": 42}


def bad_error(params):
    raise Err("not a GuestError JSON")


def uncaught(params):
    raise ValueError("hostile guest gave up")


def log_echo(params):
    """Log what an ERP repeated back (a request line holding the API key): the log must not keep the key."""
    response = host.send(host.HttpRequest("GET", params.get("url", "/echo"), [], None))
    host.log("info", "the ERP answered: " + response.body)
    return {"result": {"status": response.status}}


def replay_echo(params):
    """Learn the API key the ERP echoed, return it and put it into the path of another request."""
    response = host.send(host.HttpRequest("GET", "/echo", [], None))
    echoed = json.loads(response.body)["request"]
    key = echoed.split(params.get("param", "api_key") + "=", 1)[1].split("&", 1)[0]
    second = _send("/missing/" + key)
    raise ValueError("learned " + key + " and got " + json.dumps(second))


def learn_and_return(params):
    """Return an echoed API key as a record (records from a response that held a secret are masked)."""
    response = host.send(host.HttpRequest("GET", "/echo", [], None))
    return {"records": [{"id": 1, "echo": json.loads(response.body)["request"]}], "next": None}


ATTACKS = {
    name: value
    for name, value in list(globals().items())
    if callable(value) and not name.startswith("_") and name != "Err"
}


class WitWorld(wit_world.WitWorld):
    def describe(self) -> str:
        return json.dumps({"name": "hostile", "version": 1, "operations": sorted(ATTACKS)})

    def execute(self, operation: str, params_json: str) -> str:
        params = json.loads(params_json)
        result = ATTACKS[operation](params)
        return result if isinstance(result, str) else json.dumps(result)
