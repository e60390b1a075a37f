"""Peak memory and time of `erp sdk build`'s spec stage on spec bombs, next to a real spec.

Each case runs `sdk_builder.build_sdk` (what `erp sdk build` calls) in a fresh process with an empty cache;
the peak is the largest resident set of that process and of the child process that parses the spec.

- alias bomb: YAML "billion laughs" (592 bytes, 10^9 strings expanded);
- $ref fan-out: 15 KB of JSON, each schema referencing the next ten times (10^7 values inlined);
- Business Central: the real 537 KB spec, parsed only (its build then compiles the component with
  componentize-py, which costs the same for every SDK and is measured by `sdk_build.py`).

    .venv/bin/python benchmarks/spec_bombs.py
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT, table

from sdk_builder import SpecLimitExceeded, build_sdk
from sdk_builder._isolated import load_spec_isolated
from tests.support.spec_bombs import alias_bomb, ref_fanout

BUSINESS_CENTRAL = ROOT.parent / "shared" / "specs" / "dynamics365_business_central_v1.openapi.yaml"
CASES = {
    "alias bomb (YAML)": ("laughs.yaml", alias_bomb),
    "$ref fan-out (JSON)": ("fanout.json", ref_fanout),
    "Business Central (parse only)": (BUSINESS_CENTRAL.name, BUSINESS_CENTRAL.read_bytes),
}


def run_one(case: str) -> dict[str, object]:
    """Build (or, for the real spec, parse) one case in this process; report outcome, time and peaks."""
    filename, make = CASES[case]
    raw = make()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="erp-bench-bomb-") as tmp:
        try:
            if case.startswith("Business Central"):
                parsed = load_spec_isolated(raw, filename=filename)
                outcome = f"parsed: {len(parsed.spec.operations)} operations"
            else:
                build_sdk(raw, cache_dir=Path(tmp), filename=filename)
                outcome = "built"
        except SpecLimitExceeded as exc:
            outcome = f"refused ({exc.limit_name})"
    seconds = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"case": case, "bytes": len(raw), "outcome": outcome, "seconds": seconds, "peak_mb": max(own, child)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    rows = []
    for case in CASES:
        done = subprocess.run(  # a fresh process per case, so each peak is its own
            [sys.executable, __file__, "--one", case], capture_output=True, text=True, check=True, cwd=ROOT,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append([result["case"], f"{result['bytes']:,}", result["outcome"], f"{result['seconds']:.2f} s",
                     f"{result['peak_mb']:.0f} MB"])
    table("Spec bombs: build_sdk in a fresh process (peak RSS of it and its parse child)",
          ["spec", "size", "outcome", "time", "peak RSS"], rows)


if __name__ == "__main__":
    main()
