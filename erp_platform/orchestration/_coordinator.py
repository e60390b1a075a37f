"""``ErpRunCoordinator``: Dagster's queued run coordinator with the platform's admission control.

``submit_run`` runs in whichever process launches a run (the webserver for the UI, the daemon for
sensors, schedules and retries, the CLI for ``erp ops run resume``). It admits the run (see
:mod:`erp_platform.queue`) or refuses it: the run is marked failed with the refusal's message alone (no
exception escapes, so the UI shows the reason, not a class name and a stack trace) and tagged with the
reason; launchers ask :func:`~erp_platform.queue.refusal_of`. An admitted run gets its canonical concurrency
tags (tier, tenant cap) before it is queued, so the daemon's tag limits apply.

On Kubernetes (``erp deploy render-k8s``) the coordinator is configured with ``tier_run_k8s_config``: every
admitted run of a tenant gets its tier's ``dagster-k8s/config`` tag (run pod resources), replacing whatever
the run carried, so a tenant cannot size its own run pods beyond its tier.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from dagster import DagsterRunStatus, Field, Permissive
from dagster._core.run_coordinator import SubmitRunContext
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator
from dagster._core.storage.dagster_run import DagsterRun
from dagster._serdes import ConfigurableClassData
from sqlalchemy import Engine

from erp_platform.db import make_engine

if TYPE_CHECKING:
    from erp_platform.queue import AdmissionControl

_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()
RUN_K8S_CONFIG_TAG = "dagster-k8s/config"


class ErpRunCoordinator(QueuedRunCoordinator):
    """Queues runs like Dagster's coordinator after the platform admits them."""

    _configured_keys: frozenset[str] | None = None
    _keys_lock = threading.Lock()
    _tier_run_k8s_config: Mapping[str, Any] | None = None

    @classmethod
    def config_type(cls) -> dict[str, Any]:
        return {
            **super().config_type(),  # type: ignore[dict-item]
            "tier_run_k8s_config": Field(
                Permissive(),  # type: ignore[no-untyped-call]
                is_required=False,
                description="tier -> dagster-k8s/config (run pod resources) put on every admitted run of the tier",
            ),
        }

    @classmethod
    def from_config_value(cls, inst_data: ConfigurableClassData, config_value: Mapping[str, Any]) -> Self:
        coordinator = super().from_config_value(inst_data, config_value)
        tier_config = config_value.get("tier_run_k8s_config")
        coordinator._tier_run_k8s_config = dict(tier_config) if tier_config is not None else None
        return coordinator

    def admitted_tags(self, tags: Mapping[str, str], tier: str | None) -> dict[str, str]:
        """The admission's tags plus, when configured, the tier's run pod config (``{}`` for unknown tiers)."""
        result = dict(tags)
        if self._tier_run_k8s_config is not None and tier is not None:
            result[RUN_K8S_CONFIG_TAG] = json.dumps(self._tier_run_k8s_config.get(tier, {}), sort_keys=True)
        return result

    def admission_control(self) -> AdmissionControl:
        """The admission rules, with the queue settings read now from ``ERP_QUEUE_*``."""
        from erp_platform.queue import AdmissionControl, load_queue_settings

        with self._keys_lock:
            if self._configured_keys is None:
                limits = self._instance.get_concurrency_config().run_queue_config
                keys = {str(limit["key"]) for limit in (limits.tag_concurrency_limits if limits else [])}
                self._configured_keys = frozenset(keys)
        return AdmissionControl(self.engine(), load_queue_settings(), configured_tag_keys=self._configured_keys)

    def engine(self) -> Engine:
        """The platform database: the one this Dagster instance stores its runs in (same database by design),
        so admission reads the registry the instance belongs to, whichever process submits the run."""
        url = getattr(self._instance.run_storage, "postgres_url", None)
        if not url:
            from erp_platform.orchestration._process import process_platform

            return process_platform().engine
        with _ENGINES_LOCK:
            engine = _ENGINES.get(url)
            if engine is None:
                engine = _ENGINES[url] = make_engine(url, application_name="erp-coordinator", pool_size=2)
            return engine

    def submit_run(self, context: SubmitRunContext) -> DagsterRun:
        run = context.dagster_run
        if run.status != DagsterRunStatus.NOT_STARTED:
            return super().submit_run(context)
        from erp_platform.queue import RunRefused, SqlRunCounter, report_refusal, run_request

        control = self.admission_control()
        try:
            with control.admit(run_request(run), SqlRunCounter(self.engine())) as admission:
                tier = admission.tenant.tier if admission.tenant is not None else None
                tags = self.admitted_tags(admission.tags, tier)
                changed = {k: v for k, v in tags.items() if run.tags.get(k) != v}
                if changed:
                    self._instance.add_run_tags(run.run_id, changed)
                for line in admission.warnings:
                    self._instance.report_engine_event(line, run)
                return super().submit_run(context)
        except RunRefused as refused:
            return report_refusal(self._instance, run, refused)
