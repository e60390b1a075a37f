"""`erp mock-erp` starts, serves, and stops on Ctrl-C."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx


def test_cli_serves_until_interrupted() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "erp_platform.cli", "mock-erp", "--port", "0", "--rows", "40", "--seed", "9"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.fullmatch(r"mock ERP listening on (http://127\.0\.0\.1:\d+) \(rows=40, seed=9\)\n", first)
        assert match, first
        base_url = match.group(1)
        headers = {"X-API-Key": "key-globex", "X-ERP-Tenant": "globex"}
        params = {"pageSize": "1"}
        body = httpx.get(f"{base_url}/api/v1/customers", params=params, headers=headers, timeout=30)
        assert body.status_code == 200
        assert body.json()["totalCount"] == 40
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        output = process.stdout.read()  # the same buffered stream readline() used
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "  ERP tenant acme: 'Authorization: Bearer tok-acme' or 'X-API-Key: key-acme'" in output
    assert "Shutting down" in output
    assert process.returncode in (0, 130)  # uvicorn re-raises the SIGINT it handled


def test_cli_rejects_bad_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "erp_platform.cli", "mock-erp", "--rows", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Invalid value for '--rows': Input should be greater than or equal to 1" in result.stderr
