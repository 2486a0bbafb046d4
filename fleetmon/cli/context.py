"""What every command shares: the config, loaded once, and the store, opened when first needed."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import click
from sqlalchemy import Engine

from fleetmon.config import Config, load_config
from fleetmon.store.engine import open_store


class AppContext:
    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_path)

    @cached_property
    def engine(self) -> Engine:
        return open_store(self.config.database)

    def close(self) -> None:
        """Release the store's connections, if a command opened it."""
        if "engine" in self.__dict__:
            self.engine.dispose()


pass_app = click.make_pass_decorator(AppContext)
