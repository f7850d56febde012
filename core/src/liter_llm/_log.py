"""Logging: structlog over the standard library's ``liter_llm`` logger, with redaction.

Nothing is formatted unless the ``liter_llm`` logger is enabled for the level,
so switched-off logging costs one level check per event.  Configure it like
any standard logger (``logging.getLogger("liter_llm").setLevel(logging.DEBUG)``).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

__all__ = ["REDACTED", "get_logger", "is_enabled", "redact_processor", "std_logger"]

REDACTED = "***"
_SECRET_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "x-api-key",
        "api-key",
        "api_key",
        "x-goog-api-key",
        "x-amz-security-token",
        "aws_secret_access_key",
        "aws_session_token",
        "apikey",
        "token",
        "access_token",
        "secret",
        "password",
        "cookie",
        "set-cookie",
    }
)

std_logger = logging.getLogger("liter_llm")
_logger: Any = None


def is_enabled(level: int) -> bool:
    """Whether an event at ``level`` would be emitted (cheap)."""
    return std_logger.isEnabledFor(level)


def _redact(value: Any) -> Any:
    if isinstance(value, MutableMapping):
        return {k: (REDACTED if str(k).lower() in _SECRET_NAMES else _redact(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(v) for v in value)
    return value


def redact_processor(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor that replaces secret-looking keys and headers with ``***``."""
    for key in list(event_dict):
        if key.lower() in _SECRET_NAMES:
            event_dict[key] = REDACTED
        else:
            value = event_dict[key]
            if isinstance(value, (MutableMapping, list, tuple)):
                event_dict[key] = _redact(value)
    return event_dict


def get_logger() -> Any:
    """The library's structlog logger (built on first use)."""
    global _logger
    if _logger is None:
        import structlog

        _logger = structlog.wrap_logger(
            std_logger,
            wrapper_class=structlog.stdlib.BoundLogger,
            processors=[
                redact_processor,
                structlog.processors.TimeStamper(fmt="iso"),
                structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
            ],
        )
    return _logger
