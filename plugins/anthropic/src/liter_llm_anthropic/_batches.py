"""Message Batches: encoding chat requests into a CreateBatchRequest, and Anthropic batches -> our Batch."""

from __future__ import annotations

import datetime as _dt
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from liter_llm import types as t
from liter_llm.errors import BadRequestError, SerializationError
from liter_llm_anthropic._translate import to_anthropic_body

__all__ = [
    "BATCH_ENDPOINT",
    "BATCH_INPUT_FILE_ID",
    "BATCH_METADATA_KEY",
    "batch_from_anthropic",
    "batch_list_from_anthropic",
    "batch_request",
    "batch_requests_body",
    "parse_timestamp",
]

#: ``CreateBatchRequest.endpoint`` of a batch made by :func:`batch_request`.
BATCH_ENDPOINT = "anthropic:messages"
#: ``CreateBatchRequest.input_file_id`` of a batch made by :func:`batch_request` (no file is involved).
BATCH_INPUT_FILE_ID = "inline"
#: The ``metadata`` key holding the JSON list of ``{"custom_id", "params"}`` requests.
BATCH_METADATA_KEY = "liter_llm_requests"

_CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_FRACTION = re.compile(r"\.(\d+)")

_STATUS = {"in_progress": "in_progress", "canceling": "cancelling", "ended": "completed"}


def batch_request(requests: Iterable[tuple[str, t.ChatCompletionRequest | Mapping[str, Any]]]) -> t.CreateBatchRequest:
    """Encode chat requests as a ``CreateBatchRequest`` for Anthropic's Message Batches API.

    Each item is ``(custom_id, request)``; the request is a
    ``ChatCompletionRequest`` or its dict, translated now (so a parameter
    Anthropic cannot express fails here, before anything is sent).  Its model
    may carry the ``anthropic/`` prefix.  Send the result with
    ``client.create_batch(batch_request([...]), provider="anthropic")``.
    """
    items: list[dict[str, Any]] = []
    seen: set[str] = set()
    for position, item in enumerate(requests):
        try:
            custom_id, request = item
        except (TypeError, ValueError):
            raise BadRequestError(f"requests[{position}]: expected a (custom_id, request) pair") from None
        if not isinstance(custom_id, str) or not _CUSTOM_ID.match(custom_id):
            raise BadRequestError(
                f"requests[{position}]: custom_id must be 1-64 characters of letters, digits, '_' or '-'"
            )
        if custom_id in seen:
            raise BadRequestError(f"requests[{position}]: custom_id {custom_id!r} is used twice")
        seen.add(custom_id)
        if isinstance(request, Mapping):
            request = t.ChatCompletionRequest.from_dict(request)
        if not isinstance(request, t.ChatCompletionRequest):
            raise BadRequestError(f"requests[{position}]: expected a ChatCompletionRequest or a dict")
        model = request.model
        if model.startswith("anthropic/"):
            model = model[len("anthropic/") :]
        if not model:
            raise BadRequestError(f"requests[{position}]: the request names no model")
        items.append({"custom_id": custom_id, "params": to_anthropic_body(request, model=model)})
    if not items:
        raise BadRequestError("an Anthropic batch needs at least one request")
    return t.CreateBatchRequest(
        input_file_id=BATCH_INPUT_FILE_ID,
        endpoint=BATCH_ENDPOINT,
        completion_window="24h",
        metadata={BATCH_METADATA_KEY: json.dumps(items, ensure_ascii=False, separators=(",", ":"))},
    )


def batch_requests_body(request: Any) -> dict[str, Any]:
    """The ``POST /v1/messages/batches`` body of a ``CreateBatchRequest`` made by :func:`batch_request`."""
    if not isinstance(request, t.CreateBatchRequest):
        raise BadRequestError("create_batch: expected a CreateBatchRequest", provider="anthropic")
    metadata = request.metadata or {}
    encoded = metadata.get(BATCH_METADATA_KEY)
    if request.endpoint != BATCH_ENDPOINT or not isinstance(encoded, str):
        raise BadRequestError(
            "Anthropic's Message Batches API takes the requests themselves, not an uploaded file: build the "
            "batch with liter_llm_anthropic.batch_request([(custom_id, chat_request), ...]) and pass it to "
            "create_batch(..., provider='anthropic')",
            provider="anthropic",
        )
    try:
        items = json.loads(encoded)
    except ValueError as exc:
        raise BadRequestError(f"metadata.{BATCH_METADATA_KEY}: not valid JSON ({exc})", provider="anthropic") from None
    if not isinstance(items, list) or not items:
        raise BadRequestError(f"metadata.{BATCH_METADATA_KEY}: expected a non-empty list", provider="anthropic")
    for position, item in enumerate(items):
        if not (
            isinstance(item, dict)
            and isinstance(item.get("custom_id"), str)
            and isinstance(item.get("params"), dict)
            and set(item) == {"custom_id", "params"}
        ):
            raise BadRequestError(
                f"metadata.{BATCH_METADATA_KEY}[{position}]: expected {{'custom_id': str, 'params': {{...}}}}",
                provider="anthropic",
            )
    return {"requests": items}


def parse_timestamp(value: Any, where: str) -> int | None:
    """An RFC 3339 date-time (``2024-09-24T18:37:24.100435Z``) as unix seconds; ``None`` stays ``None``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise SerializationError(f"{where}: expected an RFC 3339 date-time, got {value!r}", provider="anthropic")
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    try:
        when = _dt.datetime.fromisoformat(text)
    except ValueError:
        raise SerializationError(f"{where}: {value!r} is not an RFC 3339 date-time", provider="anthropic") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    return int(when.timestamp())


def _counts(data: Any, where: str) -> tuple[t.BatchRequestCounts, dict[str, int]]:
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise SerializationError(f"{where}: expected an object", provider="anthropic")
    raw: dict[str, int] = {}
    for key in ("processing", "succeeded", "errored", "canceled", "expired"):
        value = data.get(key, 0)
        if value is None:
            value = 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise SerializationError(f"{where}.{key}: expected a non-negative integer", provider="anthropic")
        raw[key] = value
    counts = t.BatchRequestCounts(
        total=sum(raw.values()),
        completed=raw["succeeded"],
        failed=raw["errored"] + raw["canceled"] + raw["expired"],
    )
    return counts, raw


def batch_from_anthropic(data: Any, where: str = "batch") -> t.Batch:
    """Translate an Anthropic ``message_batch`` object into our ``Batch``.

    ``processing_status`` in_progress/canceling/ended -> ``status``
    in_progress/cancelling/completed; request counts -> total (all five),
    completed (succeeded), failed (errored + canceled + expired); the
    Anthropic-only facts (``processing_status``, ``results_url``, the five
    counts, ``archived_at``) go in ``metadata``.
    """
    if not isinstance(data, Mapping):
        raise SerializationError(f"{where}: expected an object", provider="anthropic")
    batch_id = data.get("id")
    if not isinstance(batch_id, str):
        raise SerializationError(f"{where}.id: expected a string", provider="anthropic")
    processing = data.get("processing_status")
    if not isinstance(processing, str):
        raise SerializationError(f"{where}.processing_status: expected a string", provider="anthropic")
    counts, raw = _counts(data.get("request_counts"), f"{where}.request_counts")
    results_url = data.get("results_url")
    metadata: dict[str, Any] = {"processing_status": processing, "results_url": results_url, "request_counts": raw}
    archived = parse_timestamp(data.get("archived_at"), f"{where}.archived_at")
    if archived is not None:
        metadata["archived_at"] = archived
    return t.Batch(
        id=batch_id,
        object="batch",
        endpoint="/v1/messages",
        status=_STATUS.get(processing, processing),
        input_file_id="",
        completion_window="24h",
        created_at=parse_timestamp(data.get("created_at"), f"{where}.created_at") or 0,
        request_counts=counts,
        metadata=metadata,
        completed_at=parse_timestamp(data.get("ended_at"), f"{where}.ended_at"),
        cancelling_at=parse_timestamp(data.get("cancel_initiated_at"), f"{where}.cancel_initiated_at"),
        expires_at=parse_timestamp(data.get("expires_at"), f"{where}.expires_at"),
    )


def batch_list_from_anthropic(data: Any) -> t.BatchListResponse:
    """Translate a page of Anthropic batches (``data``, ``has_more``, ``first_id``, ``last_id``)."""
    if not isinstance(data, Mapping):
        raise SerializationError("the batch list is not an object", provider="anthropic")
    items = data.get("data") or []
    if not isinstance(items, list):
        raise SerializationError("data: expected a list", provider="anthropic")
    first_id = data.get("first_id")
    last_id = data.get("last_id")
    return t.BatchListResponse(
        object="list",
        data=[batch_from_anthropic(item, f"data[{i}]") for i, item in enumerate(items)],
        has_more=bool(data.get("has_more", False)),
        first_id=first_id if isinstance(first_id, str) else None,
        last_id=last_id if isinstance(last_id, str) else None,
    )
