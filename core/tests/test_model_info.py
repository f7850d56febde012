"""``liter_llm.model_info``: the shipped facts (limits, prices, capabilities), no network."""

from __future__ import annotations

import json
from importlib import resources

import pytest

import liter_llm
from liter_llm import ModelInfo, model_info
from liter_llm.errors import BadRequestError


def test_a_known_model_has_limits_prices_and_flags() -> None:
    info = model_info("gpt-4o")
    assert isinstance(info, ModelInfo)
    assert info.provider == "openai"
    assert info.key == "gpt-4o"
    assert (info.context_window, info.max_output_tokens) == (128_000, 16_384)
    assert info.input_cost_per_token == pytest.approx(2.5e-06)
    assert info.output_cost_per_token == pytest.approx(1e-05)
    assert info.supports_tools is True
    assert info.supports_vision is True
    assert info.supports_json_schema is True
    assert info.supports_reasoning is False
    assert info.supports_streaming_usage is True


def test_the_provider_prefix_is_looked_up_under_the_tables_provider_name() -> None:
    # models.dev calls Bedrock "amazon-bedrock" and the Gemini API "google"
    bedrock = model_info("bedrock/amazon.nova-pro-v1:0")
    assert bedrock is not None
    assert bedrock.key == "amazon-bedrock/amazon.nova-pro-v1:0"
    assert bedrock.context_window == 300_000
    gemini = model_info("gemini/gemini-2.0-flash")
    assert gemini is not None
    assert gemini.key == "google/gemini-2.0-flash"
    assert gemini.context_window == 1_048_576


def test_a_bare_name_is_looked_up_for_the_provider_it_routes_to() -> None:
    info = model_info("deepseek-chat")
    assert info is not None
    assert info.provider == "deepseek"
    assert info.key == "deepseek/deepseek-chat"
    assert info.supports_streaming_usage is None  # not known for this provider


def test_an_unknown_model_is_none() -> None:
    assert model_info("totally-unknown-model") is None
    assert model_info("no-such-provider/x") is None


def test_a_run_time_price_is_reported() -> None:
    liter_llm.set_model_price("acme-model-info-test", input_cost_per_token=1e-06, output_cost_per_token=2e-06)
    info = model_info("acme-model-info-test")
    assert info is not None
    assert info.context_window is None  # no facts, only the price
    assert info.supports_tools is None
    assert (info.input_cost_per_token, info.output_cost_per_token) == (1e-06, 2e-06)


@pytest.mark.parametrize("bad", ["", "  ", None, 3])
def test_a_bad_model_name_is_a_bad_request(bad: object) -> None:
    with pytest.raises(BadRequestError, match="model"):
        model_info(bad)  # type: ignore[arg-type]


def test_the_table_is_well_formed() -> None:
    text = resources.files("liter_llm").joinpath("data").joinpath("models.json").read_text("utf-8")
    rows = json.loads(text)["models"]
    assert len(rows) > 1000
    for name, (context, output, flags) in rows.items():
        assert name
        assert isinstance(context, int)
        assert isinstance(output, int)
        assert min(context, output) >= 0
        assert set(flags) <= set("tvjr")


def test_model_info_is_not_loaded_at_import() -> None:
    import subprocess
    import sys

    code = "import sys, liter_llm; assert 'liter_llm.model_facts' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"
