"""docs/redis.md: its TOML block is a valid configuration and its Python block runs against a real Redis."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from liter_llm.config import load_config_toml

PAGE = Path(__file__).resolve().parents[3] / "docs" / "redis.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", PAGE.read_text(), flags=re.DOTALL)


def test_the_toml_block_is_a_valid_configuration() -> None:
    (toml,) = blocks("toml")
    config = load_config_toml(toml)
    assert config.redis is not None
    assert config.redis.on_outage == "fail_closed"
    assert config.budget is not None
    assert config.budget.backend == "redis"
    assert config.rate_limit is not None
    assert config.rate_limit.backend == "redis"
    assert config.cache is not None
    assert config.cache.backend == "redis"


def test_the_python_block_runs(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-docs")
    (code,) = blocks("python")
    assert "redis://127.0.0.1:6379/0" in code
    exec(compile(code.replace("redis://127.0.0.1:6379/0", redis_url), str(PAGE), "exec"), {})
    assert capsys.readouterr().out.strip() == "0.0 0.0"
