"""What every step does first: re-verify the workflow artifact and honour the control flags.

- The run's ``erp/workflow_hash`` tag, the hash the code location was compiled with and the registry's
  stored definition must agree; a mismatch (someone edited an ACTIVE definition) fails the step loudly
  without retries.
- Control flags (global / tenant / workflow / sdk): ``block`` fails the step with the flag's reason;
  ``pause`` holds the step, waiting with backoff and saying so in the run's logs, until the flag is cleared
  or the hold limit passes (then the step fails and the run can be resumed once the flag is gone).
- The tenant must not be suspended; the workflow version must not be retired or past
  ``force_cancel_after``.
- A run paused by an operator (run tag ``erp/paused=true``, see ``erp ops run pause``) holds like a pause
  flag until it is resumed. Messages go to the run's log and, as JSON lines, to ``erp.run``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from erp_platform._errors import ArtifactIntegrityError, BlockedError
from erp_platform.controls import ControlFlag, ControlFlags, scope_ids_for
from erp_platform.orchestration._process import process_platform

PAUSE_HOLD_ENV = "ERP_PAUSE_HOLD_SECONDS"
DEFAULT_PAUSE_HOLD_SECONDS = 3600.0


@dataclass(frozen=True)
class StepIdentity:
    """Which artifact a step belongs to (from the compiled code location)."""

    tenant: str
    workflow: str
    version: int
    content_hash: str
    activity: str
    sdks: tuple[tuple[str, int], ...] = ()


def _current_context() -> dg.OpExecutionContext | None:
    try:
        return dg.OpExecutionContext.get()
    except dg.DagsterInvariantViolationError:
        return None


def pause_hold_seconds() -> float:
    raw = os.environ.get(PAUSE_HOLD_ENV)
    return float(raw) if raw else DEFAULT_PAUSE_HOLD_SECONDS


class StepGuard:
    """Checks a step may run; ``sleep`` and ``clock`` are injectable for tests."""

    def __init__(
        self,
        identity: StepIdentity,
        log: dg.DagsterLogManager,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        run_id: str | None = None,
        instance: dg.DagsterInstance | None = None,
    ) -> None:
        from erp_platform.observability import RunLogger

        if run_id is None or instance is None:  # inside a step: the current Dagster context knows both
            current = _current_context()
            if current is not None:
                run_id, instance = run_id or current.run_id, instance or current.instance
        self._id = identity
        self._log = RunLogger(
            tenant=identity.tenant,
            workflow=identity.workflow,
            run_id=run_id,
            step=identity.activity,
            dagster_log=log,
        )
        self._sleep = sleep
        self._clock = clock
        self._run_id = run_id
        self._instance = instance

    @classmethod
    def for_context(cls, identity: StepIdentity, context: Any, **kwargs: Any) -> StepGuard:
        """A guard for a step's Dagster ``context`` (its log, run id and instance: run pauses apply)."""
        return cls(identity, context.log, run_id=context.run_id, instance=context.instance, **kwargs)

    def check(self, run_tags: dict[str, str]) -> None:
        """Run all checks; raises ``dg.Failure`` (not retried) when the step must not run."""
        try:
            self._verify_artifact(run_tags)
            self._verify_lifecycle()
            self._honour_flags()
        except (ArtifactIntegrityError, BlockedError) as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc

    # -- artifact ------------------------------------------------------------------------------------
    def _verify_artifact(self, run_tags: dict[str, str]) -> None:
        from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory

        ident = self._id
        tagged = run_tags.get("erp/workflow_hash")
        if tagged is not None and tagged != ident.content_hash:
            raise ArtifactIntegrityError(
                f"run was started for workflow {ident.workflow!r} hash {tagged} but the code location runs "
                f"hash {ident.content_hash} (version {ident.version}); the ACTIVE version changed: start a "
                "new run"
            )
        engine = process_platform().engine
        WorkflowRegistry(engine, registry_catalog_factory(engine)).verify(
            ident.tenant, ident.workflow, ident.version, ident.content_hash
        )

    def _verify_lifecycle(self) -> None:
        from erp_platform.workflows import WorkflowRegistry, registry_catalog_factory

        plat = process_platform()
        tenant = plat.tenants.get(self._id.tenant)
        if tenant.status != "active":
            raise BlockedError(
                f"tenant {tenant.slug!r} is {tenant.status}: its runs are refused until `erp tenant reactivate "
                f"{tenant.slug}`"
            )
        record, _ = WorkflowRegistry(plat.engine, registry_catalog_factory(plat.engine)).get(
            self._id.tenant, self._id.workflow, self._id.version
        )
        if record.status == "RETIRED":
            raise BlockedError(
                f"workflow {self._id.workflow!r} version {self._id.version} is RETIRED: it never runs again; "
                "activate a newer version"
            )
        now = datetime.now(UTC)
        if record.force_cancel_after is not None and now >= record.force_cancel_after:
            raise BlockedError(
                f"workflow {self._id.workflow!r} version {self._id.version} passed its force_cancel_after "
                f"({record.force_cancel_after.isoformat()}): runs of it are cancelled; activate a newer version"
            )
        if record.deprecated_after is not None and now >= record.deprecated_after:
            self._log.warning(
                f"workflow {self._id.workflow!r} version {self._id.version} is deprecated since "
                f"{record.deprecated_after.isoformat()}; activate a newer version"
            )

    # -- flags ---------------------------------------------------------------------------------------
    def applicable_flags(self) -> list[ControlFlag]:
        pairs = scope_ids_for(self._id.tenant, self._id.workflow, self._id.sdks)
        return ControlFlags(process_platform().engine).applicable(pairs)

    def run_pause(self) -> str | None:
        """A label when an operator paused this run (``erp ops run pause``), else None."""
        if self._instance is None or self._run_id is None:
            return None
        from erp_platform.queue import run_pause

        run = self._instance.get_run_by_id(self._run_id)
        if run is None or not run_pause(run):
            return None
        return f"an operator's pause of run {self._run_id} (`erp ops run resume {self._run_id}`)"

    def _honour_flags(self) -> None:
        limit = pause_hold_seconds()
        started = self._clock()
        delay = 1.0
        while True:
            flags = self.applicable_flags()
            blocks = [f for f in flags if f.flag_type == "block"]
            if blocks:
                raise BlockedError(f"step {self._id.activity!r} blocked by {blocks[0].label}")
            pauses = [f.label for f in flags if f.flag_type == "pause"]
            paused_run = self.run_pause()
            if paused_run is not None:
                pauses.append(paused_run)
            if not pauses:
                return
            held = self._clock() - started
            if held >= limit:
                raise BlockedError(
                    f"step {self._id.activity!r} was held {held:.0f} s by {pauses[0]}, past the hold limit "
                    f"of {limit:.0f} s ({PAUSE_HOLD_ENV}); resume the run after clearing the pause"
                )
            wait = min(delay, max(0.1, limit - held))
            self._log.info(
                f"step {self._id.activity!r} held by {pauses[0]}; waiting {wait:.0f} s "
                f"(held {held:.0f} s of at most {limit:.0f} s)"
            )
            self._sleep(wait)
            delay = min(delay * 2, 30.0)
