"""Azure OpenAI's own error shapes: content-filter results and missing deployments."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from liter_llm.errors import ContentPolicyError, LiterLlmError, NotFoundError, error_from_status

__all__ = ["AzureContentFilterError", "azure_error", "filtered_categories"]

_FILTER_CODES = frozenset({"content_filter", "ResponsibleAIPolicyViolation", "content_policy_violation"})


class AzureContentFilterError(ContentPolicyError):
    """Azure's content filter refused the prompt (or the completion).

    Attributes:
        categories: the names of the categories that were filtered
            (``"hate"``, ``"jailbreak"``, ``"self_harm"``, ``"sexual"``,
            ``"violence"``, ``"profanity"``, ``"custom_blocklists"``, ...), sorted.
        filter_results: Azure's ``content_filter_result`` object as sent
            (each category with ``filtered`` and ``severity`` or ``detected``).
    """

    def __init__(
        self,
        message: str,
        *,
        categories: list[str] | None = None,
        filter_results: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.categories: list[str] = list(categories or [])
        self.filter_results: dict[str, Any] = dict(filter_results or {})

    def _extra_state(self) -> dict[str, Any]:
        return {"categories": self.categories, "filter_results": self.filter_results}


def filtered_categories(results: Any) -> list[str]:
    """The categories of a ``content_filter_result(s)`` object that were filtered (or detected and filtered)."""
    if not isinstance(results, Mapping):
        return []
    names = []
    for name, value in results.items():
        if isinstance(value, Mapping) and value.get("filtered") is True:
            names.append(str(name))
        elif isinstance(value, list) and any(isinstance(v, Mapping) and v.get("filtered") is True for v in value):
            names.append(str(name))  # custom_blocklists: a list of {filtered, id}
    return sorted(names)


def _filter_results(error: Mapping[str, Any]) -> Mapping[str, Any]:
    inner = error.get("innererror")
    for holder in (inner, error):
        if isinstance(holder, Mapping):
            for key in ("content_filter_result", "content_filter_results"):
                value = holder.get(key)
                if isinstance(value, Mapping):
                    return value
    return {}


def azure_error(
    status: int,
    payload: Any,
    *,
    provider: str,
    deployment: str | None,
    endpoint: str | None,
    retry_after: float | None,
    body: str | None,
) -> LiterLlmError | None:
    """The error for an Azure ``{"error": {...}}`` body, or ``None`` when it is not that shape."""
    if not isinstance(payload, Mapping):
        return None
    error = payload.get("error")
    if not isinstance(error, Mapping):
        return None
    message = error.get("message")
    if not isinstance(message, str):
        message = json.dumps(message, ensure_ascii=False) if message is not None else f"HTTP {status}"
    code = error.get("code")
    code = str(code) if code not in (None, "") else None
    inner = error.get("innererror")
    inner_code = inner.get("code") if isinstance(inner, Mapping) else None
    if code in _FILTER_CODES or inner_code in _FILTER_CODES:
        results = _filter_results(error)
        categories = filtered_categories(results)
        text = message + (f" (filtered: {', '.join(categories)})" if categories else "")
        return AzureContentFilterError(
            text,
            status_code=status,
            provider=provider,
            code=str(inner_code or code),
            retry_after=retry_after,
            body=body,
            categories=categories,
            filter_results=results,
        )
    if status == 404 and (code == "DeploymentNotFound" or "deployment" in message.lower()):
        where = f" on {endpoint}" if endpoint else ""
        return NotFoundError(
            f"Azure OpenAI deployment {deployment!r} not found{where}: {message}",
            status_code=status,
            provider=provider,
            code=code,
            body=body,
        )
    etype = error.get("type")
    return error_from_status(
        status,
        message,
        provider=provider,
        code=code,
        error_type=str(etype) if isinstance(etype, str) and etype else None,
        retry_after=retry_after,
        body=body,
    )
