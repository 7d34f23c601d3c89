"""Configure logging for the command line programs.

Only the CLI and wsgi.py call configure_logging; every other module just
logs through logging.getLogger(__name__) and puts ids in ``extra``.
"""

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else on a record came from extra.
_STANDARD_ATTRIBUTES = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _STANDARD_ATTRIBUTES and value is not None
    }


class TextFormatter(logging.Formatter):
    """One line: time, level, process, logger, message, then key=value ids."""

    def __init__(self) -> None:
        super().__init__(
            "%(asctime)s %(levelname)s %(processName)s %(name)s: %(message)s"
        )

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _extra_fields(record)
        if fields:
            line += " " + " ".join(f"{key}={value}" for key, value in fields.items())
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the extra ids as top-level keys."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "message": record.getMessage(),
        }
        entry.update(_extra_fields(record))
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def configure_logging(level: str = "INFO", log_format: str = "text") -> None:
    """Send log lines to standard error in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # yoyo logs every migration step at INFO; one line per migration is ours.
    logging.getLogger("yoyo").setLevel(logging.WARNING)
    # urllib3 logs a multi-line traceback at WARNING for each response whose
    # headers break the HTTP grammar; the delivery's own log line is enough.
    logging.getLogger("urllib3.connection").setLevel(logging.ERROR)
