"""The ticket engine and sender exactly as `fleetmon run` starts them, alone in a process the
tests can SIGKILL: `python -m tests.alerts.ticket_worker CONFIG WORKER_ID`."""

from __future__ import annotations

import asyncio
import sys
from contextlib import AsyncExitStack
from pathlib import Path

from fleetmon.alerts.service import start_tickets
from fleetmon.config import load_config
from fleetmon.logs import setup_logging
from fleetmon.store.engine import open_store


async def main(config_path: Path, worker_id: str) -> None:
    config = load_config(config_path)
    engine = open_store(config.database)
    try:
        async with AsyncExitStack() as stack:
            await start_tickets(config, engine, worker_id, stack)
            print("started", flush=True)
            await asyncio.Event().wait()
    finally:
        engine.dispose()


if __name__ == "__main__":
    setup_logging("warning")
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2]))
