"""Logging: structlog over the standard library's ``liter_llm`` logger, with redaction.

Nothing is formatted unless the ``liter_llm`` logger is enabled for the level,
so switched-off logging costs one level check per event.  Configure it like
any standard logger (``logging.getLogger("liter_llm").setLevel(logging.DEBUG)``).

Every line is redacted twice: values under secret-looking names (``authorization``,
``api_key``...) become ``***``, and the value of every live
:class:`~liter_llm._secret.SecretStr` (an API key), in its plain, ``repr`` and
bytes-``repr`` forms, is replaced by ``***`` wherever it appears in the text.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

from liter_llm._secret import live_secret_forms, scrub_text

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


def _redact(value: Any, forms: tuple[str, ...] = ()) -> Any:
    if isinstance(value, str):
        return scrub_text(value, forms, REDACTED) if forms else value
    if isinstance(value, MutableMapping):
        return {k: (REDACTED if str(k).lower() in _SECRET_NAMES else _redact(v, forms)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redact(v, forms) for v in value)
    return value


def redact_processor(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: secret-looking keys and headers become ``***``, and so does every live API key."""
    forms = live_secret_forms()
    for key in list(event_dict):
        if key.lower() in _SECRET_NAMES:
            event_dict[key] = REDACTED
        else:
            value = event_dict[key]
            if isinstance(value, (MutableMapping, list, tuple)) or (forms and isinstance(value, str)):
                event_dict[key] = _redact(value, forms)
            elif forms and isinstance(value, BaseException):
                event_dict[key] = _redact(f"{type(value).__name__}: {value}", forms)
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
