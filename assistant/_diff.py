"""A draft shown against the ACTIVE version: a YAML diff and a short list of what changes."""

from __future__ import annotations

import difflib
from typing import Any

import yaml

from erp_platform.workflows import WorkflowDefinition, definition_payload


def definition_yaml(definition: WorkflowDefinition) -> str:
    """The definition as the YAML a person would write (what `erp workflow show` prints)."""
    data = definition.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def unified_diff(active: WorkflowDefinition | None, draft: WorkflowDefinition, *, active_version: int | None,
                 draft_version: int | None) -> str:
    """``diff -u`` of the ACTIVE version's YAML and the draft's (everything added when nothing is ACTIVE)."""
    old = definition_yaml(active).splitlines(keepends=True) if active is not None else []
    new = definition_yaml(draft).splitlines(keepends=True)
    before = f"{draft.id} v{active_version} (ACTIVE)" if active is not None else "(no ACTIVE version)"
    after = f"{draft.id} v{draft_version or '?'} (DRAFT)"
    return "".join(difflib.unified_diff(old, new, fromfile=before, tofile=after))


def _by_id(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(item.get("id")): item for item in items}


def change_summary(active: WorkflowDefinition | None, draft: WorkflowDefinition) -> list[str]:
    """One line per changed activity, trigger or setting (``+ activity orders (extract)``)."""
    new = definition_payload(draft)
    if active is None:
        return [f"new workflow {draft.id!r} with {len(draft.activities)} activities and "
                f"{len(draft.triggers)} trigger(s)"]
    old = definition_payload(active)
    lines: list[str] = []
    old_acts, new_acts = _by_id(old["activities"]), _by_id(new["activities"])
    for key in new_acts.keys() - old_acts.keys():
        lines.append(f"+ activity {key} ({new_acts[key]['type']})")
    for key in old_acts.keys() - new_acts.keys():
        lines.append(f"- activity {key} ({old_acts[key]['type']})")
    for key in sorted(new_acts.keys() & old_acts.keys()):
        if new_acts[key] != old_acts[key]:
            old_cfg, new_cfg = old_acts[key]["config"], new_acts[key]["config"]
            changed = sorted(k for k in new_cfg.keys() | old_cfg.keys() if new_cfg.get(k) != old_cfg.get(k))
            lines.append(f"~ activity {key}: {', '.join(changed) or 'settings'} changed")
    old_triggers = [yaml.safe_dump(t, sort_keys=True).strip() for t in old.get("triggers", [])]
    new_triggers = [yaml.safe_dump(t, sort_keys=True).strip() for t in new.get("triggers", [])]
    for trig in new.get("triggers", []):
        if yaml.safe_dump(trig, sort_keys=True).strip() not in old_triggers:
            lines.append(f"+ trigger {_trigger(trig)}")
    for trig in old.get("triggers", []):
        if yaml.safe_dump(trig, sort_keys=True).strip() not in new_triggers:
            lines.append(f"- trigger {_trigger(trig)}")
    for key in ("steps", "retry_policy", "compatibility", "description"):
        if old.get(key) != new.get(key):
            lines.append(f"~ {key} changed")
    return sorted(lines) or ["no change"]


def _trigger(trigger: dict[str, Any]) -> str:
    if trigger.get("type") == "schedule":
        return f"schedule {trigger.get('cron')} ({trigger.get('timezone', 'UTC')})"
    return f"sensor {trigger.get('kind')} on {trigger.get('activity') or trigger.get('upstream_workflow')}"
