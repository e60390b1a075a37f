"""Imports each command module so it registers its commands on the root app."""

from __future__ import annotations

from erp_platform.cli import _init  # noqa: F401
from erp_platform.cli import _tenant  # noqa: F401
from erp_platform.cli import _dev  # noqa: F401
from erp_platform.cli import _workflow  # noqa: F401
from erp_platform.cli import _mock_erp  # noqa: F401
from erp_platform.cli import _credentials  # noqa: F401
