"""Activity outputs as parquet objects, one object per attempt, never overwritten.

Outputs go to ``tenants/{tenant}/executions/{run_id}/activities/{workflow.activity}/attempt-{n}.parquet``.
Inputs are found through the upstream asset's latest materialization (in this run or an earlier one),
whose metadata records the object key; a key outside this tenant's prefix is refused.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import dagster as dg
import polars as pl
import pyarrow.parquet as pq

from erp_platform._errors import TenantIsolationError
from erp_platform.objectstore import (
    LocalObjectStore,
    ObjectExistsError,
    ObjectKey,
    activity_output_key,
    tenant_key,
)
from erp_platform.orchestration._process import cache_dir, process_platform

OBJECT_KEY_META = "erp/object_key"
ROWS_META = "erp/rows"
MAX_ATTEMPT_NUMBER = 1000


def asset_segment(asset_key: dg.AssetKey) -> str:
    """``workflow.activity`` from an asset key ``[tenant, workflow, <tenant>__activity]`` (other keys of the
    tenant: their path after the tenant, joined with dots)."""
    tenant, *rest = asset_key.path
    if rest:
        rest[-1] = rest[-1].removeprefix(f"{tenant}__")
    return ".".join(rest)


def key_for_path(tenant: str, stored: str) -> ObjectKey:
    """Rebuild an object key from its stored path, refusing anything outside ``tenants/<tenant>/``."""
    prefix = f"tenants/{tenant}/"
    if not stored.startswith(prefix):
        raise TenantIsolationError(
            f"object {stored!r} is outside tenant {tenant!r}'s prefix {prefix!r}; an output of another tenant "
            "cannot be read"
        )
    return tenant_key(tenant, stored[len(prefix) :])


def local_path(key: ObjectKey) -> Path:
    """A local file with the object's content (the file itself for the local store, else a cached copy)."""
    store = process_platform().objects
    if isinstance(store, LocalObjectStore):
        return store.path_of(key)
    target = cache_dir("objects") / key.path
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        store.get_file(key, target)
    return target


class ErpIOManager(dg.ConfigurableIOManager):
    """Stores polars frames as per-attempt parquet objects in the tenant's prefix."""

    tenant: str

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if obj is None:
            return
        if not isinstance(obj, pl.DataFrame | pl.LazyFrame):
            raise TypeError(f"activity outputs must be polars frames, got {type(obj).__name__}")
        store = process_platform().objects
        attempt = context.step_context.previous_attempt_count + 1
        segment = asset_segment(context.asset_key)
        with tempfile.TemporaryDirectory(dir=cache_dir("tmp")) as tmp:
            path = Path(tmp) / "out.parquet"
            if isinstance(obj, pl.LazyFrame):
                obj.sink_parquet(path)
            else:
                obj.write_parquet(path)
            rows = pq.ParquetFile(path).metadata.num_rows
            key = None
            for n in range(attempt, attempt + MAX_ATTEMPT_NUMBER):
                candidate = activity_output_key(self.tenant, context.run_id, segment, n)
                try:
                    store.put_file(candidate, path, new=True)
                except ObjectExistsError:
                    continue  # an earlier, interrupted attempt wrote this number: never overwrite it
                key, attempt = candidate, n
                break
            if key is None:
                raise RuntimeError(f"no free attempt number for {segment} in run {context.run_id}")
            size = path.stat().st_size
        context.add_output_metadata(
            {
                OBJECT_KEY_META: key.path,
                ROWS_META: rows,
                "erp/attempt": attempt,
                "erp/bytes": size,
            }
        )

    def load_input(self, context: dg.InputContext) -> pl.LazyFrame:
        asset_key = context.asset_key
        if asset_key.path[0] != self.tenant:
            raise TenantIsolationError(
                f"asset {asset_key.to_user_string()} belongs to another tenant; tenant {self.tenant!r} cannot "
                "read it"
            )
        event = context.instance.get_latest_materialization_event(asset_key)
        if event is None or event.asset_materialization is None:
            raise dg.Failure(
                f"no output of {asset_key.to_user_string()} has been materialised yet: run the upstream "
                "activity first (materialise the whole workflow job)",
                allow_retries=False,
            )
        meta = event.asset_materialization.metadata.get(OBJECT_KEY_META)
        if meta is None:
            raise dg.Failure(
                f"the latest materialisation of {asset_key.to_user_string()} has no stored output"
            )
        key = key_for_path(self.tenant, str(meta.value))
        return pl.scan_parquet(local_path(key))
