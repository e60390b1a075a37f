"""The exported names of the loader package are pinned."""

from __future__ import annotations

import erp_platform.loader as loader


def test_loader_exports() -> None:
    assert sorted(loader.__all__) == sorted([
        "LOADED_AT_COLUMN", "RUN_ID_COLUMN", "IncompatibleTableError", "LoadFailed", "LoadResult", "LoadSpec",
        "check_load", "load_frame", "resolve_business_key",
    ])
    assert all(hasattr(loader, name) for name in loader.__all__)
