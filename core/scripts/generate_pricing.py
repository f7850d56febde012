"""Generate ``src/liter_llm/data/pricing.json`` from a ``pricing.json`` price list.

Usage::

    python core/scripts/generate_pricing.py PATH/TO/pricing.json [-o OUTPUT]

The input is liter-llm's schemas/pricing.json (generated from models.dev,
MIT, Opencode team): ``{"models": {name: {"input_cost_per_token": ...,
"output_cost_per_token": ..., "cache_read_input_token_cost": ...,
"cache_creation_input_token_cost": ...}}}``.  Each model becomes one compact
row ``[input, output]``, ``[input, output, cache_read]`` or ``[input, output,
cache_read or null, cache_write]``: trailing unknown prices are left out, so
the shipped file stays small.  Rows are sorted by model name.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

FIELDS = (
    "input_cost_per_token",
    "output_cost_per_token",
    "cache_read_input_token_cost",
    "cache_creation_input_token_cost",
)
CREDIT = (
    "USD per token: [input, output, cache_read (optional), cache_write (optional)]. "
    "Model prices derived from liter-llm's schemas/pricing.json, generated from models.dev, MIT "
    "(models.dev, Opencode team)."
)


def _row(name: str, price: dict[str, Any]) -> list[float | None]:
    row: list[float | None] = []
    for field in FIELDS:
        value = price.get(field)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise ValueError(f"{name}.{field}: expected a non-negative number, got {value!r}")
        row.append(None if value is None else float(value))
    if row[0] is None or row[1] is None:
        raise ValueError(f"{name}: input and output prices are required")
    while len(row) > 2 and row[-1] is None:
        row.pop()
    return row


def convert(source: dict[str, Any]) -> str:
    """The text of the shipped table (one model per line, as the package has always shipped it)."""
    models = source["models"]
    lines = [
        "{"
        + json.dumps("$comment")
        + ":"
        + json.dumps(CREDIT)
        + ","
        + json.dumps("fields")
        + ":"
        + json.dumps(list(FIELDS), separators=(",", ":"))
        + ",",
        json.dumps("models") + ":{",
    ]
    rows = [
        json.dumps(name) + ":" + json.dumps(_row(name, models[name]), separators=(",", ":")) for name in sorted(models)
    ]
    return "\n".join(lines) + "\n" + ",\n".join(rows) + "}}\n"


def main(argv: list[str] | None = None) -> int:
    """Read the price list, write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path)
    default = Path(__file__).resolve().parent.parent / "src" / "liter_llm" / "data" / "pricing.json"
    parser.add_argument("-o", "--output", type=Path, default=default)
    args = parser.parse_args(argv)
    text = convert(json.loads(args.source.read_text("utf-8")))
    args.output.write_text(text, "utf-8")
    print(f"wrote {args.output} ({text.count(chr(10)) - 2} models)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
