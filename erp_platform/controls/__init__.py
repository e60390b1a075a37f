"""Operator controls: kill-switch flags (global, tenant, workflow, sdk; pause, block, rate_limit)."""

from erp_platform.controls._flags import ControlFlag, ControlFlags, scope_ids_for, validate_scope

__all__ = ["ControlFlag", "ControlFlags", "scope_ids_for", "validate_scope"]
