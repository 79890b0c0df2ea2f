"""Structured logs: one event name plus key=value fields per line (or one JSON object).

``event(log, logging.INFO, "block", height=5, hash="ab..")`` logs the message ``block`` with the
fields attached to the record; :class:`KeyValueFormatter` renders
``2025-01-01T12:00:00.123Z info block height=5 hash=ab..`` and :class:`JSONFormatter`
``{"ts": ..., "level": "info", "event": "block", "height": 5, ...}``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Literal

from indexer.node.http import redact_urls

LOGGER_NAME = "indexer.follow"


def event(log: logging.Logger, level: int, name: str, **fields: Any) -> None:
    """Log event ``name`` with ``fields``; credentials in any URL of a text field are redacted
    (configuration strips them already: this is the second line of defence)."""
    if log.isEnabledFor(level):
        clean = {k: redact_urls(v) if isinstance(v, str) else v for k, v in fields.items()}
        log.log(level, name, extra={"fields": clean})


def _ts(record: logging.LogRecord) -> str:
    t = time.gmtime(record.created)
    return time.strftime("%Y-%m-%dT%H:%M:%S", t) + f".{int(record.msecs):03d}Z"


def _kv(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, bool) or value is None:
        text = str(value).lower()
    else:
        text = str(value)
    if not text or any(c in text for c in ' "='):
        return json.dumps(text)
    return text


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, Any] = getattr(record, "fields", {})
        parts = [_ts(record), record.levelname.lower(), record.getMessage()]
        parts += [f"{k}={_kv(v)}" for k, v in fields.items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        obj: dict[str, Any] = {
            "ts": _ts(record),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        obj.update(getattr(record, "fields", {}))
        if record.exc_info:
            obj["exception"] = self.formatException(record.exc_info)
        return json.dumps(obj, default=str)


def setup_logging(
    *, fmt: Literal["kv", "json"] = "kv", level: int = logging.INFO, stream: Any = None
) -> logging.Logger:
    """Route the follower's logger to ``stream`` (stderr) in ``fmt``; returns the logger."""
    log = logging.getLogger(LOGGER_NAME)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JSONFormatter() if fmt == "json" else KeyValueFormatter())
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False
    return log
