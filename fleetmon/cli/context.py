"""What every command shares: the config, loaded once, and the store, opened when first needed."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import click
from sqlalchemy import Engine

from fleetmon.config import Config, ConfigError, load_config
from fleetmon.store.engine import open_store_for_reading


class AppContext:
    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        return load_config(self.config_path)

    @cached_property
    def engine(self) -> Engine:
        """The store, migrated; read-only (no migration) where it cannot be written, so reading commands still work."""
        return open_store_for_reading(self.config.database)

    @property
    def store_url(self) -> str | None:
        """The store's URL if the command got as far as reading the config, for translating the store's errors."""
        if "config" not in self.__dict__:
            return None
        try:
            return self.config.database
        except ConfigError:
            return None

    def close(self) -> None:
        """Release the store's connections, if a command opened it."""
        if "engine" in self.__dict__:
            self.engine.dispose()


pass_app = click.make_pass_decorator(AppContext)
