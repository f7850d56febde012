"""What the proxy's tests share: the master key, prices, the client configuration and a running proxy.

A module of its own (not conftest.py): several test folders have a conftest, and ``from conftest
import ...`` inside a test would find whichever one was imported last.
"""

from __future__ import annotations

from typing import Any

import httpx
from fake_upstream import ThreadServer

from liter_llm.config import parse_config

MASTER = "sk-master-test-0123456789"
PRICES = {
    "fake-model": {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002},
    "other-model": {"input_cost_per_token": 0.001, "output_cost_per_token": 0.002},
}


def proxy_config(upstream_url: str, database_url: str, **proxy: Any) -> Any:
    """The client configuration of a proxy in front of the fake upstream (a gateway: every call goes there)."""
    return parse_config(
        {
            "base_url": f"{upstream_url}/v1",
            "api_key": "upstream-secret-key",
            "max_retries": 0,
            "plugins": {"proxy": {"database_url": database_url, "model_prices": PRICES, **proxy}},
        }
    )


class RunningProxy:
    def __init__(self, server: ThreadServer) -> None:
        self.server = server
        self.url = server.url
        self.admin = httpx.Client(base_url=server.url, headers={"authorization": f"Bearer {MASTER}"}, timeout=30)

    def create_key(self, **fields: Any) -> dict[str, Any]:
        answer = self.admin.post("/admin/keys", json=fields)
        assert answer.status_code == 201, answer.text
        data: dict[str, Any] = answer.json()
        return data

    def stop(self) -> None:
        self.admin.close()
        self.server.stop()
