"""Generate ``src/liter_llm_openai/catalogue.json`` from a ``providers.json`` registry.

Usage::

    python plugins/openai/scripts/generate_catalogue.py PATH/TO/providers.json [-o OUTPUT]

The input is liter-llm's schemas/providers.json (generated from litellm's
data, MIT).  Kept: every provider with a base URL that is not listed in
``complex_providers``, not served by a plugin of its own (``OWN_PLUGINS``,
:data:`PLUGIN_PROVIDERS`), and not a search API (``search`` maps to nothing: the
liter-llm-search plugin speaks each search provider's own protocol).  For each
row the script keeps the name, display name, base URL, key variable, auth style
and ``param_mappings``; maps the endpoint
names to liter-llm's families; and keeps only the *bare* model prefixes
(``deepseek-``): ``name/`` always routes to a provider, and prefixes that
would steal OpenAI's own models (``gpt-``, ``text-``) are dropped.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from liter_llm_openai import OPENAI_MODEL_PREFIXES

CREDIT = "derived from liter-llm's schemas/providers.json, generated from litellm's data, MIT"

#: their endpoint names -> our endpoint families
ENDPOINT_MAP: dict[str, tuple[str, ...]] = {
    "chat": ("chat", "models"),
    "embedding": ("embed",),
    "embeddings": ("embed",),
    "image": ("image",),
    "images": ("image",),
    "audio": ("speech", "transcribe"),
    "speech": ("speech",),
    "transcription": ("transcribe",),
    "moderation": ("moderate",),
    "moderations": ("moderate",),
    "rerank": ("rerank",),
    "ocr": ("ocr",),
    # Web search is no OpenAI-format endpoint: every search API has its own protocol, and
    # liter-llm-search translates each one natively.  A row that offered search alone is dropped.
    "search": (),
    "files": ("files",),
    "batch": ("batches", "files"),
    "batches": ("batches", "files"),
    "responses": ("responses",),
    "models": ("models",),
    "completion": (),  # the legacy text completion API is not part of liter-llm
}

#: Providers served by a plugin of their own in this repository: no catalogue row.
OWN_PLUGINS = frozenset({"mistral"})
#: Providers the registry lists as OpenAI-compatible that are not: a plugin of their own serves
#: them, so they get no row.  ``cohere`` / ``cohere_chat``: the registry's rows point at ``/v1`` and
#: ``/v2`` and would append ``/chat/completions``, which is not a Cohere endpoint (Cohere's native
#: API is ``/v2/chat``, served by liter-llm-cohere).
PLUGIN_PROVIDERS = frozenset({"cohere", "cohere_chat"})

#: OpenAI's own bare prefixes: catalogue rows must not claim them.
OPENAI_PREFIXES = OPENAI_MODEL_PREFIXES


def _clashes(prefix: str) -> bool:
    return any(prefix.startswith(ours) or ours.startswith(prefix) for ours in OPENAI_PREFIXES)


def convert(registry: dict[str, Any]) -> dict[str, Any]:
    """Turn the registry into the catalogue's JSON document."""
    complex_names = set(registry.get("complex_providers") or ()) | PLUGIN_PROVIDERS
    rows: list[dict[str, Any]] = []
    taken: set[str] = set()
    for provider in registry["providers"]:
        name = provider["name"]
        base_url = provider.get("base_url")
        if not base_url or name in complex_names or name in OWN_PLUGINS:
            continue
        endpoints: set[str] = set()
        unknown = []
        for endpoint in provider.get("endpoints") or ():
            if endpoint not in ENDPOINT_MAP:
                unknown.append(endpoint)
                continue
            endpoints.update(ENDPOINT_MAP[endpoint])
        if unknown:
            print(f"warning: {name}: unknown endpoint names {unknown} ignored", file=sys.stderr)
        if not endpoints and "search" in (provider.get("endpoints") or ()):
            continue  # a search API: served by the liter-llm-search plugin, not the OpenAI wire format
        prefixes = []
        for prefix in provider.get("model_prefixes") or ():
            if "/" in prefix or _clashes(prefix) or prefix in taken:
                continue
            taken.add(prefix)
            prefixes.append(prefix)
        auth = provider.get("auth") or {}
        row: dict[str, Any] = {
            "name": name,
            "display_name": provider.get("display_name") or name,
            "base_url": base_url,
            "auth": "none" if auth.get("type") == "none" else "bearer",
            "api_key_env": auth.get("env_var"),
            "endpoints": sorted(endpoints),
            "model_prefixes": prefixes,
        }
        if provider.get("param_mappings"):
            row["param_mappings"] = dict(provider["param_mappings"])
        rows.append(row)
    rows.sort(key=lambda row: row["name"])
    return {"$comment": CREDIT, "providers": rows}


def main(argv: list[str] | None = None) -> int:
    """Read the registry named on the command line and write the catalogue."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("providers_json", type=Path, help="path to providers.json")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent.parent / "src" / "liter_llm_openai" / "catalogue.json",
        help="where to write the catalogue (default: the package's catalogue.json)",
    )
    args = parser.parse_args(argv)
    registry = json.loads(args.providers_json.read_text(encoding="utf-8"))
    document = convert(registry)
    args.output.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(document['providers'])} providers to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
