"""Running the real ``erp`` console script in a subprocess against the test database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass(frozen=True)
class ErpCli:
    """Runs ``erp`` with ERP_DATABASE_URL / ERP_HOME pointing at the test session's database and folder."""

    database_url: str
    home: Path
    extra_env: tuple[tuple[str, str], ...] = ()

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ERP_")}
        env.update(
            {"ERP_DATABASE_URL": self.database_url, "ERP_HOME": str(self.home), "ERP_ACTOR": "test:cli"}
        )
        env.update(dict(self.extra_env))
        return env

    def __call__(self, *args: str, input: str | None = None, timeout: float = 120) -> CliResult:
        proc = subprocess.run(
            [sys.executable, "-m", "erp_platform.cli", *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env(),
            timeout=timeout,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)
