"""Instruction counts (valgrind's callgrind) per sync chat, per sync chunk and per async chat, ours and raw httpx.

Wall-clock and CPU times on a shared machine move with the load; the number
of instructions a process executes does not.  Each figure is the difference
between two runs of one workload under callgrind, one with ``N`` more units
than the other (the same start-up, imports and warm-up in both), divided by
``N``.  Raw httpx does the same requests with ``json.loads`` (as in
``bench/run.py``), against the same canned server (``bench/server.py``,
outside valgrind).

    python bench/instructions.py [--src DIR ...] [--n N]

``--src`` puts a checkout's ``core/src`` first on ``sys.path`` (to compare
two versions of the core with one environment); the default is the
installed one.  Talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WARM = 20  # units run before anything is counted, in both runs of a pair
CHUNKS = 100  # chunks per stream of bench/server.py
OURS = ("ours_chat_sync", "ours_stream_sync", "ours_chat_async")
RAW = ("raw_chat_sync", "raw_stream_sync", "raw_chat_async")


def workload(kind: str, url: str, units: int) -> None:
    """Run ``WARM + units`` units of ``kind`` (chats, or streams of 100 chunks for a ``stream`` kind)."""
    sys.path.insert(0, str(HERE))
    import httpx
    import run as bench

    # a stream kind counts chunks: one stream of warm-up, then one stream per 100 chunks
    count = 1 + units // CHUNKS if kind.endswith("_stream_sync") else WARM + units
    if kind == "raw_chat_sync":
        with httpx.Client() as http:
            bench.raw_chat_sync(http, url, count)
    elif kind == "raw_stream_sync":
        with httpx.Client() as http:
            bench.raw_stream_sync(http, url, count)
    elif kind == "raw_chat_async":

        async def go_raw() -> None:
            async with httpx.AsyncClient() as http:
                await bench.raw_chat_async(http, url, count)

        asyncio.run(go_raw())
    else:
        import liter_llm

        if kind == "ours_chat_sync":
            with liter_llm.create_client(api_key="bench", base_url=url) as client:
                bench.ours_chat_sync(client, count)
        elif kind == "ours_stream_sync":
            with liter_llm.create_client(api_key="bench", base_url=url) as client:
                bench.ours_stream_sync(client, count)
        else:

            async def go_ours() -> None:
                async with liter_llm.create_async_client(api_key="bench", base_url=url) as client:
                    await bench.ours_chat_async(client, count)

            asyncio.run(go_ours())


def instructions(kind: str, url: str, units: int, src: str | None) -> int:
    """Instructions callgrind counts for one process running ``kind``."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                f"--callgrind-out-file={tmp}/out",
                sys.executable,
                __file__,
                "--child",
                kind,
                url,
                str(units),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output: {out.stderr[-2000:]}")
    return int(found.group(1))


def per_unit(kind: str, url: str, n: int, src: str | None) -> float:
    return (instructions(kind, url, n, src) - instructions(kind, url, 0, src)) / n


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        workload(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", action="append", default=[], help="a core/src directory to measure (repeatable)")
    parser.add_argument("--n", type=int, default=200, help="units counted per figure (a multiple of 100)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import run as bench

    sources: list[str | None] = list(args.src) or [None]
    results: dict[str, Any] = {"n": args.n, "raw": {}, "ours": {}}
    with bench.server() as url:
        for kind in RAW:
            results["raw"][kind] = per_unit(kind, url, args.n, None)
            print(f"{kind}: {results['raw'][kind]:,.0f} instructions per unit", flush=True)
        for src in sources:
            name = src or "installed"
            results["ours"][name] = {}
            for kind in OURS:
                value = per_unit(kind, url, args.n, src)
                results["ours"][name][kind] = value
                raw = results["raw"][kind.replace("ours", "raw")]
                print(f"{name} {kind}: {value:,.0f} instructions per unit ({value / raw:.2f}x raw)", flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
