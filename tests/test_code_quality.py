"""ruff and mypy (strict) are clean on the packages: the same checks as `make lint`, run by `make test`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)


def test_ruff_is_clean() -> None:
    result = _run(
        str(BIN / "ruff"), "check", "erp_platform", "sdk_builder", "code_locations", "assistant", "tests", "benchmarks"
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    result = _run(str(BIN / "mypy"), "erp_platform", "sdk_builder", "code_locations", "assistant")
    assert result.returncode == 0, result.stdout + result.stderr
