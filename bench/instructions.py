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
import gc
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
    """Warm up, then run ``units`` units of ``kind`` (chats, or chunks in streams of 100 for a ``stream`` kind).

    Between the two the heap is collected and frozen (``gc.freeze``), so that
    a full collection, which walks every object the imports made, does not
    land in one run of a pair and not the other.
    """
    sys.path.insert(0, str(HERE))
    import httpx
    import run as bench

    stream = kind.endswith("_stream_sync")
    warm, count = (1, units // CHUNKS) if stream else (WARM, units)

    def settle() -> None:
        gc.collect()
        gc.freeze()

    if kind in ("raw_chat_sync", "raw_stream_sync"):
        raw = bench.raw_stream_sync if stream else bench.raw_chat_sync
        with httpx.Client() as http:
            raw(http, url, warm)
            settle()
            raw(http, url, count)
    elif kind == "raw_chat_async":

        async def go_raw() -> None:
            async with httpx.AsyncClient() as http:
                await bench.raw_chat_async(http, url, warm)
                settle()
                await bench.raw_chat_async(http, url, count)

        asyncio.run(go_raw())
    else:
        import liter_llm

        if kind in ("ours_chat_sync", "ours_stream_sync"):
            ours = bench.ours_stream_sync if stream else bench.ours_chat_sync
            with liter_llm.create_client(api_key="bench", base_url=url) as client:
                ours(client, warm)
                settle()
                ours(client, count)
        else:

            async def go_ours() -> None:
                async with liter_llm.create_async_client(api_key="bench", base_url=url) as client:
                    await bench.ours_chat_async(client, warm)
                    settle()
                    await bench.ours_chat_async(client, count)

            asyncio.run(go_ours())


def callgrind(args: list[str], env: dict[str, str]) -> int:
    """The instructions callgrind counts for one process running ``args``."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", *args],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
    found = re.search(r"Collected\s*:\s*(\d+)", out.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count in valgrind's output: {out.stderr[-2000:]}")
    return int(found.group(1))


def instructions(kind: str, url: str, units: int, src: str | None) -> int:
    """Instructions callgrind counts for one process running ``kind``."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    return callgrind([sys.executable, __file__, "--child", kind, url, str(units)], env)


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
    parser.add_argument("--kinds", default="chat_sync,stream_sync,chat_async", help="which figures (comma list)")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import run as bench

    sources: list[str | None] = list(args.src) or [None]
    results: dict[str, Any] = {"n": args.n, "raw": {}, "ours": {}}
    with bench.server() as url:
        kinds = {name.strip() for name in args.kinds.split(",")}
        for kind in RAW:
            if kind.removeprefix("raw_") not in kinds:
                continue
            results["raw"][kind] = per_unit(kind, url, args.n, None)
            print(f"{kind}: {results['raw'][kind]:,.0f} instructions per unit", flush=True)
        for src in sources:
            name = src or "installed"
            results["ours"][name] = {}
            for kind in OURS:
                if kind.removeprefix("ours_") not in kinds:
                    continue
                value = per_unit(kind, url, args.n, src)
                results["ours"][name][kind] = value
                raw = results["raw"][kind.replace("ours", "raw")]
                print(f"{name} {kind}: {value:,.0f} instructions per unit ({value / raw:.2f}x raw)", flush=True)
    if args.out is not None:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
