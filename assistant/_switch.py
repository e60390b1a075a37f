"""The AI off switch: ``ERP_ASSISTANT_ENABLED=false`` and ``ai_off`` control flags (global or per tenant).

When off, nothing is sent to the AI provider; the offline mapper and the offline intent path still
work, and production runs are not affected at all. Turning it on or off is audited (it is a control flag).
"""

from __future__ import annotations

from sqlalchemy import Engine

from assistant._errors import AssistantDisabled
from assistant._settings import AssistantSettings
from erp_platform._errors import ConflictError
from erp_platform.controls import ControlFlag, ControlFlags


def ai_off_flags(engine: Engine, tenant: str) -> list[ControlFlag]:
    """Active ``ai_off`` flags that apply to ``tenant`` (global first)."""
    flags = ControlFlags(engine).applicable([("global", None), ("tenant", tenant)])
    return [f for f in flags if f.flag_type == "ai_off"]


def ai_off_reason(engine: Engine, settings: AssistantSettings, tenant: str) -> str | None:
    """Why the AI provider may not be used for ``tenant`` now, or None when it may."""
    if not settings.enabled:
        return "ERP_ASSISTANT_ENABLED is false (set it to true to turn the AI provider on)"
    flags = ai_off_flags(engine, tenant)
    if flags:
        flag = flags[0]
        how = "`erp assistant on`" if flag.scope == "global" else f"`erp assistant on {tenant}`"
        return f"{flag.label}; turn it back on with {how}"
    return None


def require_ai(engine: Engine, settings: AssistantSettings, tenant: str) -> None:
    """Raise :class:`AssistantDisabled` when the AI provider is off for ``tenant``."""
    reason = ai_off_reason(engine, settings, tenant)
    if reason is not None:
        raise AssistantDisabled(
            f"the AI assistant is off for tenant {tenant!r}: {reason}. Nothing was sent to the AI provider; "
            f"the offline assistant still works (`erp assistant draft {tenant} \"...\" --offline`)"
        )


def set_ai(engine: Engine, tenant: str | None, *, on: bool, reason: str = "") -> list[ControlFlag]:
    """Turn the AI provider off (an ``ai_off`` flag) or on (clear the flags) globally (``tenant`` None) or
    for one tenant; returns the flags set or cleared."""
    flags = ControlFlags(engine)
    scope, scope_id = ("global", None) if tenant is None else ("tenant", tenant)
    current = [f for f in flags.applicable([(scope, scope_id)]) if f.flag_type == "ai_off"]
    if on:
        return [flags.clear(f.id) for f in current]
    if current:
        return current
    try:
        return [flags.set(scope=scope, scope_id=scope_id, flag_type="ai_off", reason=reason)]
    except ConflictError:  # set concurrently by someone else: it is off either way
        return [f for f in flags.applicable([(scope, scope_id)]) if f.flag_type == "ai_off"]
