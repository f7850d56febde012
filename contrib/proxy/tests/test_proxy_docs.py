"""docs/proxy.md says what is true: its configuration example is valid, its tables match the code."""

from __future__ import annotations

import re
from pathlib import Path

from liter_llm.config import load_config_toml
from liter_llm_proxy.app import Proxy
from liter_llm_proxy.settings import settings_from_config

DOC = (Path(__file__).resolve().parents[3] / "docs" / "proxy.md").read_text()


def test_the_configuration_example_is_valid() -> None:
    block = re.search(r"```toml\n(.*?)```", DOC, re.S)
    assert block is not None
    env = {"UPSTREAM_API_KEY": "sk-up", "PGPASSWORD": "secret"}
    config = load_config_toml(block.group(1), env=env)
    settings = settings_from_config(config)
    assert settings.database_url == "postgresql+asyncpg://proxy:secret@127.0.0.1:5432/proxy"
    assert settings.key_cache_secs == 2.0
    assert settings.model_prices["my-org/my-model"].output_cost_per_token == 0.000002
    assert config.redis is not None
    assert "secret" not in repr(settings)


def test_every_route_is_documented() -> None:
    proxy = Proxy.__new__(Proxy)  # only the route table is read: nothing is started
    for route in Proxy.routes(proxy):
        path = re.sub(r"\{(\w+)(:path)?\}", lambda m: "{id}" if m.group(1).endswith("_id") else "{model}", route.path)
        assert f"`{path}" in DOC or f" {path}`" in DOC or path in DOC, f"{route.path} is not in docs/proxy.md"
