"""Periodic queue upkeep for the ``erp dev`` supervisor: force_cancel_after and the limits in dagster.yaml."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from typing import TYPE_CHECKING

from erp_platform._errors import ErpPlatformError
from erp_platform._platform import Platform
from erp_platform.orchestration._dagster_home import QueuePolicy, dagster_home, dagster_yaml_text
from erp_platform.queue._lifecycle import ForcedCancel, enforce_force_cancel
from erp_platform.queue._policy import queue_policy
from erp_platform.queue._settings import QueueSettings, load_queue_settings

if TYPE_CHECKING:
    from dagster import DagsterInstance

_log = logging.getLogger("erp.queue")


class QueueMaintenance:
    """Owns a Dagster instance in the supervisor process and does the queue's periodic work.

    Args:
        platform: the platform.
        env: the Dagster environment ``erp dev`` gives its processes (DAGSTER_HOME, storage URL, socket).
        fixed_policy: a policy the stack was started with explicitly; when set, ``dagster.yaml`` is never
            re-rendered from the registry.
        settings: queue settings (``enforce_interval_seconds``).
    """

    def __init__(self, platform: Platform, env: Mapping[str, str], *, fixed_policy: QueuePolicy | None = None,
                 settings: QueueSettings | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self._platform = platform
        self._env = dict(env)
        self._fixed = fixed_policy
        self._settings = settings or load_queue_settings()
        self._clock = clock
        self._last = float("-inf")
        self._stack = ExitStack()
        self._instance: DagsterInstance | None = None

    @property
    def instance(self) -> DagsterInstance:
        """The platform's Dagster instance in this process (opened on first use)."""
        if self._instance is None:
            from erp_platform.queue._instance import open_instance

            self._instance = self._stack.enter_context(open_instance(self._platform, self._env))
        return self._instance

    def tick(self) -> bool:
        """Do the periodic work when due; True when ``dagster.yaml`` changed (restart the daemon)."""
        now = self._clock()
        if now - self._last < self._settings.enforce_interval_seconds:
            return False
        self._last = now
        try:
            for cancel in self.enforce():
                _log.warning("force-cancelled run %s of %s/%s v%s (force_cancel_after %s)", cancel.run_id,
                             cancel.tenant, cancel.workflow, cancel.version, cancel.force_cancel_after)
            return self.refresh_policy()
        except ErpPlatformError as exc:
            _log.warning("queue maintenance failed: %s", exc)
            return False

    def enforce(self) -> list[ForcedCancel]:
        """Cancel runs of workflow versions past ``force_cancel_after``."""
        return enforce_force_cancel(self.instance, self._platform.engine)

    def refresh_policy(self) -> bool:
        """Re-render ``dagster.yaml`` with the caps in use in the registry; True when it changed."""
        if self._fixed is not None:
            return False
        target = dagster_home(self._platform.settings) / "dagster.yaml"
        content = dagster_yaml_text(
            queue_policy(self._platform.engine, self._settings),
            process_mode=self._platform.settings.process_mode,
        )
        if target.exists() and target.read_text() == content:
            return False
        tmp = target.with_suffix(".tmp")
        tmp.write_text(content)
        tmp.replace(target)
        _log.info("tenant caps changed: rewrote %s", target)
        return True

    def close(self) -> None:
        """Dispose of the instance (idempotent)."""
        self._stack.close()
        self._instance = None
