"""`fleetmon run`: the long-running monitor with its /metrics endpoint, until SIGTERM or Ctrl-C.

Before it touches the store, `run` makes sure it can listen on its port and that no other
monitor holds the store (`fleetmon.store.monitorlock`): a second `run` started by mistake
exits with one line and leaves the first one's log alone.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from contextlib import AsyncExitStack

import click

from fleetmon.alerts.service import start_tickets
from fleetmon.cli.context import AppContext, pass_app
from fleetmon.config import Config, ListenConfig
from fleetmon.console.report_mail import start_report_mail
from fleetmon.console.service import start_console
from fleetmon.logs import setup_logging
from fleetmon.monitor.kinds import build_kinds
from fleetmon.monitor.service import HEARTBEAT_SECONDS, Monitor, Ownership, default_worker_id
from fleetmon.monitor.workers import LeaseOwnership
from fleetmon.probes.findings import ClockCorrection
from fleetmon.probes.registry import ProbeClients
from fleetmon.process import raise_open_files_limit, tune_gc, tune_malloc
from fleetmon.store.inventory import record_clock_correction
from fleetmon.store.monitorlock import MonitorLock, StoreBusy

log = logging.getLogger("fleetmon")


async def serve(config: Config, app: AppContext, worker_id: str | None, stop: asyncio.Event) -> None:
    """Compose the service: probe clients, ownership, monitor, exporter; undo in reverse on exit."""
    raise_open_files_limit()
    from fleetmon.exporters.http import start_metrics

    check_can_listen(config.metrics, "metrics")
    try:
        lock = MonitorLock.acquire(config.database, shared=config.monitor.shared)
    except StoreBusy as exc:
        raise click.ClickException(str(exc)) from None
    async with AsyncExitStack() as stack:
        stack.callback(lock.release)
        keeper = asyncio.create_task(_keep_lock(lock, stop))
        stack.callback(keeper.cancel)
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
        # tickets and repair alerts (fleetmon.alerts), from the devices the monitor has read
        await start_tickets(config, engine, monitor.worker_id, stack, monitor.view, monitor.inventory)
        url = await start_metrics(monitor.view, config, stack)
        console = await start_console(config, engine, monitor.view, stack)  # the web console (fleetmon.console)
        await start_report_mail(config, engine, stack)  # the monthly report to budget officers, when configured
        log.info("worker %s: metrics at %s, console at %s", monitor.worker_id, url, console)
        click.echo(f"fleetmon {monitor.worker_id}: monitoring {len(monitor.view.statuses)} devices; metrics at {url}"
                   + (f"; console at {console}" if console else ""))
        await stop.wait()
        log.info("stopping")
        if keeper.done() and not keeper.cancelled():
            raise click.ClickException(keeper.result())


async def _keep_lock(lock: MonitorLock, stop: asyncio.Event) -> str:
    """A lock lost with the database's restart is taken again; a monitor that finds its store taken stops."""
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            await asyncio.to_thread(lock.check)
        except StoreBusy as exc:
            log.error("%s", exc)
            stop.set()
            return str(exc)


def check_can_listen(listen: ListenConfig, what: str) -> None:
    """Refuse to start when the port is taken: found after the store was opened, it was too late."""
    if listen.port == 0:
        return
    try:
        for family, kind, proto, _, address in socket.getaddrinfo(listen.host, listen.port, type=socket.SOCK_STREAM,
                                                                 flags=socket.AI_PASSIVE):
            with socket.socket(family, kind, proto) as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
                probe.bind(address)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {listen.host}:{listen.port} for {what} ({exc.strerror or exc}): "
                                   f"is another fleetmon running? Choose another {what}.port in the config") from None


@click.command()
@click.option("--worker-id", help="This worker's name (default: config monitor.worker_id, $FLEETMON_WORKER_ID, host name).")
@click.option("--log-level", type=click.Choice(["debug", "info", "warning"]), default="info", show_default=True)
@pass_app
def run(app: AppContext, worker_id: str | None, log_level: str) -> None:
    """Probe the fleet on schedule, keep device health and its log, serve /metrics."""
    setup_logging(log_level)
    tune_gc()
    tune_malloc()
    config = app.config

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(config, app, worker_id, stop)

    asyncio.run(main())
