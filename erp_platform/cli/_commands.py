"""Imports each command module so it registers its commands on the root app."""

from __future__ import annotations

from erp_platform.cli import (
    _assistant,  # noqa: F401
    _credentials,  # noqa: F401
    _demo,  # noqa: F401
    _deploy,  # noqa: F401
    _dev,  # noqa: F401
    _health,  # noqa: F401
    _init,  # noqa: F401
    _lifecycle,  # noqa: F401
    _mock_erp,  # noqa: F401
    _ops,  # noqa: F401
    _run,  # noqa: F401
    _sdk,  # noqa: F401
    _tenant,  # noqa: F401
    _workflow,  # noqa: F401
)
