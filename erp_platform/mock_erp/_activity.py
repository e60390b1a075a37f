"""Simulated ERP activity: rows appended, rows touched (updated), records created through the API.

The activity of an ERP tenant is an ordered log; replaying it on fresh timelines gives the same rows,
which is how :func:`~erp_platform.mock_erp.expected_records` reproduces what the server serves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from erp_platform.mock_erp._entities import entity_spec
from erp_platform.mock_erp._errors import ActivityError
from erp_platform.mock_erp._timeline import EntityTimeline

#: Ids are formatted with 8 digits, so no entity grows past this many rows.
MAX_ID = 99_999_999

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class AppendRows(BaseModel):
    """``count`` new generated rows, each with ``updated_at`` after the current maximum."""

    model_config = _FROZEN

    kind: Literal["append"] = "append"
    entity: str
    count: int = Field(ge=1)


class TouchRows(BaseModel):
    """Existing rows changed: each gets a new version and ``updated_at`` after the current maximum."""

    model_config = _FROZEN

    kind: Literal["touch"] = "touch"
    entity: str
    ids: tuple[int, ...] = Field(min_length=1)


class CreateRecord(BaseModel):
    """A record created through the API (``POST``); ``record`` is its REST form without ``updated_at``."""

    model_config = _FROZEN

    kind: Literal["create"] = "create"
    entity: str
    record: dict[str, Any]


Activity = Annotated[AppendRows | TouchRows | CreateRecord, Field(discriminator="kind")]


class ActivityLog(BaseModel):
    """The activity of one ERP tenant, oldest first."""

    model_config = _FROZEN

    tenant: str
    activity: tuple[Activity, ...] = ()


class ActivityRequest(BaseModel):
    """Body of ``POST /_admin/activity``: touch rows (by id), then append new ones."""

    model_config = _FROZEN

    tenant: str
    entity: str
    append: int = Field(0, ge=0)
    touch: tuple[int, ...] = ()


class EntitySnapshot(BaseModel):
    """An entity after simulated activity."""

    model_config = _FROZEN

    tenant: str
    entity: str
    count: int = Field(description="rows of the entity now")
    max_updated_at: str = Field(description="largest updated_at, ISO 8601")
    appended_ids: tuple[int, ...] = ()
    touched_ids: tuple[int, ...] = ()


def check_entity(entity: str) -> None:
    """Raise :class:`UnknownEntityError` unless ``entity`` is a mock ERP entity."""
    entity_spec(entity)


def apply_activity(timeline: EntityTimeline, activity: AppendRows | TouchRows | CreateRecord) -> list[int]:
    """Apply one activity to the entity's timeline; returns the ids it appended or touched."""
    check_entity(activity.entity)
    if isinstance(activity, AppendRows):
        _check_room(timeline, activity.entity, activity.count)
        return [timeline.append().index + 1 for _ in range(activity.count)]
    if isinstance(activity, TouchRows):
        missing = [i for i in activity.ids if timeline.locate(i - 1) is None]
        if missing:
            raise ActivityError(
                f"touch {activity.entity}: no row with id {_ids(missing)}; "
                f"ids run from 1 to {timeline.count}"
            )
        return [timeline.touch(i - 1).index + 1 for i in dict.fromkeys(activity.ids)]
    _check_room(timeline, activity.entity, 1)
    expected_id = timeline.count + 1
    if activity.record.get("id") != expected_id:
        raise ActivityError(
            f"create {activity.entity}: record id {activity.record.get('id')!r} does not follow the "
            f"existing rows; the next id is {expected_id} (replay activity in its original order)"
        )
    return [timeline.append(dict(activity.record)).index + 1]


def _check_room(timeline: EntityTimeline, entity: str, count: int) -> None:
    if timeline.count + count > MAX_ID:
        raise ActivityError(
            f"append {count} {entity}: that would give {timeline.count + count} rows, more than the "
            f"{MAX_ID} an 8-digit id allows; append fewer rows"
        )


def _ids(ids: Sequence[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:10])
    return shown + (f" (and {len(ids) - 10} more)" if len(ids) > 10 else "")
