"""Write core/src/liter_llm/data/models.json (what ``liter_llm.model_info`` reads) from a models.dev checkout.

Usage: python scripts/model_facts.py PATH/TO/models.dev

models.dev (MIT, https://github.com/anomalyco/models.dev) keeps one TOML file per model under
``providers/<provider>/models/``.  Each row written is ``[context window, output limit, flags]``
where flags holds ``t`` (tool calls), ``v`` (image input), ``j`` (structured output / JSON Schema)
and ``r`` (reasoning); a limit of 0 is unknown.  The keys follow the pricing table's
(``data/pricing.json``): ``<provider>/<model>`` for every provider, and also the bare model name
for the providers whose names are the models' own (OpenAI, Anthropic, Google).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import tomllib

BARE = ("openai", "anthropic", "google")
OUT = Path(__file__).resolve().parents[1] / "core" / "src" / "liter_llm" / "data" / "models.json"


def row(data: dict) -> list | None:
    limit = data.get("limit") or {}
    context = int(limit.get("context") or 0)
    output = int(limit.get("output") or 0)
    if not context and not output:
        return None
    inputs = (data.get("modalities") or {}).get("input") or []
    flags = "".join(
        letter
        for letter, present in (
            ("t", data.get("tool_call")),
            ("v", "image" in inputs),
            ("j", data.get("structured_output")),
            ("r", data.get("reasoning")),
        )
        if present
    )
    return [context, output, flags]


def main(root: Path) -> None:
    models: dict[str, list] = {}
    for provider_dir in sorted((root / "providers").iterdir()):
        base = provider_dir / "models"
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*.toml")):
            name = path.relative_to(base).with_suffix("").as_posix()
            try:
                facts = row(tomllib.loads(path.read_text("utf-8")))
            except (OSError, tomllib.TOMLDecodeError):  # a dangling link or a broken file: left out
                continue
            if facts is None:
                continue
            models[f"{provider_dir.name}/{name}"] = facts
            if provider_dir.name in BARE:
                models.setdefault(name, facts)
    doc = {
        "$comment": "Model facts derived from models.dev (MIT, models.dev) by scripts/model_facts.py.",
        "fields": ["context_window", "max_output_tokens", "flags: t=tools v=vision j=json_schema r=reasoning"],
        "models": dict(sorted(models.items())),
    }
    lines = [f"{json.dumps(k)}:{json.dumps(v, separators=(',', ':'))}" for k, v in doc["models"].items()]
    head = json.dumps({k: v for k, v in doc.items() if k != "models"}, separators=(",", ":"))[:-1]
    OUT.write_text(head + ',\n"models":{\n' + ",\n".join(lines) + "\n}}\n", encoding="utf-8")
    print(f"{len(models)} models -> {OUT}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
