"""``liter-llm providers`` through the real command line, with this plugin installed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_providers_shows_the_search_providers_and_their_endpoints(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LITER_LLM_")}
    env.update(
        LITER_LLM_LOAD_PLUGINS="openai,search", SEARXNG_BASE_URL="http://127.0.0.1:8888", BRAVE_API_KEY="b-secret"
    )
    env.pop("TAVILY_API_KEY", None)
    result = subprocess.run(
        [sys.executable, "-m", "liter_llm.cli", "providers"],
        check=False,
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines()[1:]}
    assert rows["brave"][1:4] == ["https://api.search.brave.com/res/v1", "BRAVE_API_KEY", "set"]
    assert rows["tavily"][2:] == ["TAVILY_API_KEY", "not", "set", "liter-llm-search", "search"]
    for name in ("tavily", "brave", "exa", "serper"):
        assert rows[name][-1] == "search", rows[name]
        assert rows[name][-2] == "liter-llm-search"
    assert rows["searxng"][1] == "http://127.0.0.1:8888"
    assert rows["searxng"][-1] == "search"
    assert rows["perplexity"][-1] == "chat,search"
    assert rows["perplexity"][-2] == "liter-llm-search"
    for name in ("firecrawl", "google_pse", "linkup", "parallel_ai", "duckduckgo"):
        assert rows[name][-2:] == ["liter-llm-search", "search"], rows[name]
    assert rows["google_pse"][1:3] == ["https://www.googleapis.com/customsearch/v1", "GOOGLE_PSE_API_KEY"]
    assert "exa_ai" not in rows
    assert "b-secret" not in result.stdout
