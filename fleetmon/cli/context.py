"""What every command shares: the config, loaded once, and the store, opened when first needed."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import click
from sqlalchemy import Engine

from fleetmon.config import Config, ConfigError, load_config
from fleetmon.store.engine import open_store


class AppContext:
    def __init__(self, config_path: Path | None) -> None:
        self.config_path = config_path

    @cached_property
    def config(self) -> Config:
        try:
            return load_config(self.config_path)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None

    @cached_property
    def engine(self) -> Engine:
        return open_store(self.config.database)


pass_app = click.make_pass_decorator(AppContext)
