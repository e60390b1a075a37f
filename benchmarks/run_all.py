"""Run every benchmark in turn and print their figures (what `make bench` runs).

Each script also runs on its own: ``python benchmarks/<name>.py --help``. Figures go into
``benchmarks/RESULTS.md`` by hand, with the machine's load noted, since they vary with it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "onboarding.py",
    "mock_erp.py",
    "sandbox_overhead.py",
    "sandbox_parsing.py",
    "sdk_build.py",
    "spec_corpus.py",
    "load.py",
    "sync.py",
    "queue_latency.py",
    "fairness.py",
    "tenant_scale.py",
]


def main() -> int:
    failed = []
    for name in ORDER:
        print(f"\n===== {name} =====", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(HERE / name)], cwd=HERE.parent)
        print(f"===== {name}: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print("failed: " + ", ".join(failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
