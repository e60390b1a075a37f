"""Serving one tenant's code location over gRPC from a process forked by the fork server."""

from __future__ import annotations

import logging
import os
import sys
import threading

from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.utils import FuturesAwareThreadPoolExecutor
from dagster._grpc.server import DagsterApiServer, DagsterGrpcServer
from dagster._utils.interrupts import setup_interrupt_handlers

from erp_platform.orchestration._process import LOCATION_TENANT_ENV

CODE_LOCATIONS_MODULE = "code_locations.tenants"


def serve_code_location(*, location: str, attribute: str, socket_path: str) -> None:
    """Serve ``code_locations.tenants:<attribute>`` as code location ``location`` until terminated."""
    setup_interrupt_handlers()
    os.environ["ERP_DB_POOLED"] = "0"  # one code server per tenant: hold no idle database connections
    os.environ[LOCATION_TENANT_ENV] = attribute  # the only tenant whose SDK resources this process may use
    logger = logging.getLogger("dagster.code_server")
    origin = LoadableTargetOrigin(
        executable_path=sys.executable,
        module_name=CODE_LOCATIONS_MODULE,
        attribute=attribute,
        working_directory=None,
    )
    termination = threading.Event()
    executor = FuturesAwareThreadPoolExecutor(max_workers=None)
    servicer = DagsterApiServer(
        server_termination_event=termination,
        logger=logger,
        server_threadpool_executor=executor,
        loadable_target_origin=origin,
        heartbeat=False,
        heartbeat_timeout=30,
        lazy_load_user_code=False,
        fixed_server_id=None,
        location_name=location,
    )
    DagsterGrpcServer(
        server_termination_event=termination,
        dagster_api_servicer=servicer,
        port=None,
        socket=socket_path,
        host="localhost",
        logger=logger,
        threadpool_executor=executor,
    ).serve()  # type: ignore[no-untyped-call]
