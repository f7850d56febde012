"""Cost: the shipped table prices azure/<model>; a deployment is priced by its base_model."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from liter_llm import completion_cost

MESSAGES = [{"role": "user", "content": "Hello"}]
# azure/gpt-4o in core/src/liter_llm/data/pricing.json: input, output USD per token
GPT_4O = (2.5e-06, 1e-05)
# the usage of chat_completion.json: 33 prompt tokens, 557 completion tokens
EXPECTED = 33 * GPT_4O[0] + 557 * GPT_4O[1]


def client(az: Any, **azure: Any) -> dict[str, Any]:
    options = {"api_key": az.KEY, "model_hint": "azure", "base_url": az.ENDPOINT, "cost_tracking": True}
    if azure:
        options["plugins"] = {"azure": azure}
    return options


def ok(az: Any) -> Any:
    return lambda request: httpx.Response(200, json=az.load("chat_completion.json"))


def test_the_shipped_table_has_azure_models() -> None:
    from liter_llm.types import Usage

    usage = Usage(prompt_tokens=1_000_000, completion_tokens=0, total_tokens=1_000_000)
    assert completion_cost(usage, "azure/gpt-4o") == pytest.approx(2.5)
    assert completion_cost(usage, "azure/gpt-4.1-mini") == pytest.approx(0.4)


def test_a_deployment_named_after_its_model_is_priced(run: Any, az: Any) -> None:
    response = run(ok(az), "chat", model="azure/gpt-4o", messages=MESSAGES, client=client(az))
    assert response.cost == pytest.approx(EXPECTED)


def test_a_deployment_with_its_own_name_is_unpriced_without_base_model(run: Any, az: Any) -> None:
    response = run(ok(az), "chat", model="azure/prod-chat-eu", messages=MESSAGES, client=client(az))
    assert response.cost is None


def test_base_model_prices_a_deployment(run: Any, az: Any) -> None:
    options = client(az, deployments={"prod-chat-eu": {"base_model": "gpt-4o"}})
    response = run(ok(az), "chat", model="azure/prod-chat-eu", messages=MESSAGES, client=options)
    assert response.cost == pytest.approx(EXPECTED)
    assert "base_model" not in run.request.content.decode()
    assert run.request.url.path == "/res/openai/deployments/prod-chat-eu/chat/completions"


def test_base_model_may_name_another_table_entry(run: Any, az: Any) -> None:
    options = client(az, deployments={"cheap": {"base_model": "openai/gpt-4o-mini"}})
    response = run(ok(az), "chat", model="azure/cheap", messages=MESSAGES, client=options)
    from liter_llm.types import Usage

    assert response.cost == pytest.approx(
        completion_cost(Usage(prompt_tokens=33, completion_tokens=557, total_tokens=590), "openai/gpt-4o-mini")
    )


def test_base_model_prices_a_stream(run: Any, az: Any) -> None:
    chunks = az.load("stream_chunks.json")["chunks"]
    seen: list[Any] = []

    class Spy:
        from liter_llm import hookimpl

        @hookimpl(trylast=True)
        def on_response(self, call: Any, response: Any) -> None:
            seen.append(response.cost)

    options = client(az, deployments={"prod-chat-eu": {"base_model": "gpt-4o"}})
    options["hooks"] = [Spy()]
    run(
        lambda r: az.sse_response(az.sse(*chunks)),
        "chat_stream",
        model="azure/prod-chat-eu",
        messages=MESSAGES,
        client=options,
    )
    assert seen == [pytest.approx(33 * GPT_4O[0] + 2 * GPT_4O[1])]
