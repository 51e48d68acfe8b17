"""Structured logs: one JSON object per line, with the request id on every record.

The HTTP adapter sets the request being served in a context variable (:func:`bind`); a
filter adds its id to every record logged while it is served, whatever the logger (audit,
validator, the 500 handler), also from the thread pool (``run_in_threadpool`` copies the
context). Records carry only what the code put in them: never a query string, a body or a
token (docs/security.md, "Hostile input").
"""

from __future__ import annotations

import contextvars
import json
import logging
import time
from typing import Any

_REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar("cm_fhir_request_id",
                                                                         default=None)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def bind(request_id: str) -> contextvars.Token[str | None]:
    """The request now served in this context (undo with :func:`unbind`)."""
    return _REQUEST_ID.set(request_id)


def unbind(token: contextvars.Token[str | None]) -> None:
    _REQUEST_ID.reset(token)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = _REQUEST_ID.get()
        return True


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "request_id", "message", …}``; a message that is itself a
    JSON object (the adapter's request lines) is merged, not quoted; a traceback goes in
    ``"traceback"``."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
                    + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
        }
        request_id = getattr(record, "request_id", None)
        if request_id is not None:
            out["request_id"] = request_id
        message = record.getMessage()
        merged = False
        if message.startswith("{"):
            try:
                data = json.loads(message)
            except ValueError:
                data = None
            if isinstance(data, dict):
                out.update({k: v for k, v in data.items() if k not in out})
                merged = True
        if not merged:
            out["message"] = message
        if record.exc_info:
            out["traceback"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


def configure(level: str = "INFO") -> None:
    """JSON lines on stderr (one handler on the root logger, replacing a plain one such as
    ``logging.basicConfig``'s), the service's loggers (``cm_fhir.*``) at ``level``."""
    name = str(level).upper()
    if name not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not '{level}'")
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old.formatter, JsonFormatter) or type(old) is logging.StreamHandler:
            root.removeHandler(old)
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    if root.level > logging.WARNING or root.level == logging.NOTSET:
        root.setLevel(logging.WARNING)  # other libraries: warnings and errors
    logging.getLogger("cm_fhir").setLevel(name)
