"""`fleetmon run`: the long-running monitor with its /metrics endpoint, until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import AsyncExitStack

import click

from fleetmon.alerts.service import start_tickets
from fleetmon.cli.context import AppContext, pass_app
from fleetmon.config import Config
from fleetmon.console.service import start_console
from fleetmon.logs import setup_logging
from fleetmon.monitor.kinds import build_kinds
from fleetmon.monitor.service import Monitor, Ownership, default_worker_id
from fleetmon.monitor.workers import LeaseOwnership
from fleetmon.probes.findings import ClockCorrection
from fleetmon.probes.registry import ProbeClients
from fleetmon.process import raise_open_files_limit
from fleetmon.store.inventory import record_clock_correction

log = logging.getLogger("fleetmon")


async def serve(config: Config, app: AppContext, worker_id: str | None, stop: asyncio.Event) -> None:
    """Compose the service: probe clients, ownership, monitor, exporter; undo in reverse on exit."""
    raise_open_files_limit()
    from fleetmon.exporters.http import start_metrics

    async with AsyncExitStack() as stack:
        clients = await ProbeClients.start(stack)
        engine = app.engine

        def clock_corrected(correction: ClockCorrection) -> None:  # rare: a short write on the loop is fine
            log.info("clock of %s set (%s): %s s -> %s s", correction.device_id, correction.method,
                     correction.skew_before, correction.skew_after)
            with engine.begin() as conn:
                record_clock_correction(conn, correction.device_id, correction.method,
                                        correction.skew_before, correction.skew_after)

        kinds = build_kinds(config, clients, clock_corrected)
        worker_id = worker_id or config.monitor.worker_id or default_worker_id()
        ownership = Ownership()
        if config.monitor.shared:
            ownership = LeaseOwnership(engine=engine, worker_id=worker_id, lease_seconds=config.monitor.lease,
                                       guard_seconds=config.lease_guard)
        monitor = Monitor(config=config, engine=engine, kinds=kinds, worker_id=worker_id, ownership=ownership)
        await monitor.start(stack)
        await start_tickets(config, engine, monitor.worker_id, stack)  # tickets and repair alerts (fleetmon.alerts)
        url = await start_metrics(monitor.view, config, stack)
        console = await start_console(config, engine, monitor.view, stack)  # the web console (fleetmon.console)
        log.info("worker %s: metrics at %s, console at %s", monitor.worker_id, url, console)
        click.echo(f"fleetmon {monitor.worker_id}: monitoring {len(monitor.view.statuses)} devices; metrics at {url}"
                   + (f"; console at {console}" if console else ""))
        await stop.wait()
        log.info("stopping")


@click.command()
@click.option("--worker-id", help="This worker's name (default: config monitor.worker_id, $FLEETMON_WORKER_ID, host name).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning"]), default="info", show_default=True)
@pass_app
def run(app: AppContext, worker_id: str | None, log_level: str) -> None:
    """Probe the fleet on schedule, keep device health and its log, serve /metrics."""
    setup_logging(log_level)
    config = app.config

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(config, app, worker_id, stop)

    asyncio.run(main())
