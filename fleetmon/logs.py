"""Structured log lines (logfmt: `ts=... level=... logger=... msg="..."`), one event per line.

Nothing secret reaches a log: secrets are `SecretStr` everywhere and print as `**********`,
and probes put only classified, secret-free text in their results' `error`.
"""

from __future__ import annotations

import logging
import sys
import time


class LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        message = record.getMessage().replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        line = f'ts={stamp} level={record.levelname.lower()} logger={record.name} msg="{message}"'
        if record.exc_info:
            line += ' exc="' + self.formatException(record.exc_info).replace('"', "'").replace("\n", "\\n") + '"'
        return line


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(LogfmtFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("apscheduler", "zeep", "httpx", "httpcore", "aiohttp.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Its "maximum number of running instances reached" repeats the monitor's own overrun warning.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
