"""Where the real ERP specs live: ``../shared/specs`` next to the checkout, or ``ERP_SHARED_SPECS``."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SHARED_SPECS = Path(os.environ.get("ERP_SHARED_SPECS") or REPO.parent / "shared" / "specs")


def missing_specs_message() -> str | None:
    """Why the real specs cannot be found, with the fix; None when they are there."""
    if (SHARED_SPECS / "dynamics365_business_central_v1.openapi.yaml").is_file():
        return None
    return (
        f"the real ERP specs are not at {SHARED_SPECS}: the tests build SDKs from them. Check out the "
        f"repository next to the `shared` folder (../shared/specs), or set ERP_SHARED_SPECS to the folder "
        f"that holds dynamics365_business_central_v1.openapi.yaml"
    )
