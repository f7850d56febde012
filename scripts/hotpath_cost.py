"""Instruction counts per chat and per stream chunk, ours against raw httpx, under callgrind.

Run: ``.venv/bin/python scripts/hotpath_cost.py [--chats N] [--streams N] [--only NAME,...]``
(needs ``valgrind`` and a C compiler with valgrind's ``callgrind.h``; ``apt-get install -y valgrind``).

Wall-clock and CPU time move by 10-30 % on a shared machine; the number of instructions a process
executes does not. This script starts ``bench/server.py`` (the benchmark's canned OpenAI-compatible
server, 100 chunks per stream, 127.0.0.1 only) natively, and runs each measured body of
``bench/run.py`` (raw httpx and ours, sync and async, chats and 100-chunk streams) in its own
process under ``valgrind --tool=callgrind --instr-atstart=no``. That process imports everything,
creates its client and warms it up (plugin discovery, parser generation, the first connection)
with instrumentation off; then it switches instrumentation on through callgrind's client requests
(a tiny shared library compiled once into a temporary directory and called through ctypes), zeroes
the counters, runs the measured loop, and dumps the counters. Only the loop is counted.

The client is the bench's own: ``create_client(api_key="bench", base_url=URL)`` in whatever
environment runs this script (the workspace ``.venv`` has every plugin installed, as
``nox -s bench`` runs it). Prints instructions per chat and per chunk for each body and the
ratios ours / raw httpx. ``PYTHONHASHSEED`` is fixed so that repeated runs count the same.
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import run as bench  # noqa: E402  (bench/run.py: its server and measured bodies)

_C_SOURCE = r"""
#include <valgrind/callgrind.h>
void cg_start(void) { CALLGRIND_START_INSTRUMENTATION; CALLGRIND_ZERO_STATS; }
void cg_stop(void) { CALLGRIND_DUMP_STATS_AT("measured"); CALLGRIND_STOP_INSTRUMENTATION; }
"""

# name -> (unit, client kind)
BODIES: dict[str, tuple[str, str]] = {
    "raw_chat_sync": ("chat", "sync"),
    "ours_chat_sync": ("chat", "sync"),
    "raw_stream_sync": ("chunk", "sync"),
    "ours_stream_sync": ("chunk", "sync"),
    "raw_chat_async": ("chat", "async"),
    "ours_chat_async": ("chat", "async"),
    "raw_stream_async": ("chunk", "async"),
    "ours_stream_async": ("chunk", "async"),
    # the async client over aiohttp's pool (its transport before issue #16), for the comparison
    "ours_chat_async_aiohttp": ("chat", "async"),
    "ours_stream_async_aiohttp": ("chunk", "async"),
    # 64 tasks at once, as the benchmark's concurrency-64 figure (the count is rounded down to 64s)
    "ours_chat_async_c64": ("chat", "async"),
}


def _compile(directory: Path) -> Path:
    """Build the client-request library into ``directory``; return its path."""
    source = directory / "cg.c"
    library = directory / "libcg.so"
    source.write_text(_C_SOURCE)
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise SystemExit("hotpath_cost: no C compiler (cc) on PATH")
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return library


def _child(name: str, url: str, count: int, library: str) -> None:
    """Run one measured body under callgrind: warm up uncounted, count only the loop."""
    import httpx

    import liter_llm

    cg = ctypes.CDLL(library)
    aiohttp = name.endswith("_aiohttp")
    concurrent = name.endswith("_c64")
    body = getattr(bench, name.removesuffix("_aiohttp").removesuffix("_c64"))
    raw = name.startswith("raw_")
    if BODIES[name][1] == "sync":
        with httpx.Client() as http, liter_llm.create_client(api_key="bench", base_url=url) as client:
            run: Callable[[int], int] = (lambda n: body(http, url, n)) if raw else (lambda n: body(client, n))
            run(3)
            cg.cg_start()
            units = run(count)
            cg.cg_stop()
    else:

        async def go() -> int:
            async with (
                httpx.AsyncClient() as http,
                liter_llm.create_async_client(api_key="bench", base_url=url) as client,
            ):
                if aiohttp:  # the client's direct sends go to aiohttp's pool instead of the default
                    from liter_llm._transport import AiohttpTransport

                    client._sender = AiohttpTransport()
                arun: Callable[[int], Any] = (lambda n: body(http, url, n)) if raw else (lambda n: body(client, n))
                if concurrent:  # n chats from 64 tasks, each making one chat at a time (64 connections)
                    arun = lambda n: bench.concurrently(lambda: body(client, 1), n, 64)  # noqa: E731
                    await arun(64)
                await arun(3)
                cg.cg_start()
                done = await arun(count)
                cg.cg_stop()
                return int(done)

        units = asyncio.run(go())
    print(f"units={units}")


def _measure(name: str, url: str, count: int, library: Path, workdir: Path) -> tuple[int, int]:
    """Instructions of the measured loop of ``name`` and the units (chats or chunks) it did."""
    out = workdir / f"callgrind.{name}"
    env = dict(os.environ, PYTHONHASHSEED="0")
    cmd = [
        "valgrind",
        "--tool=callgrind",
        "--instr-atstart=no",
        f"--callgrind-out-file={out}",
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        name,
        url,
        str(count),
        str(library),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    found = re.search(r"units=(\d+)", proc.stdout)
    if proc.returncode != 0 or found is None:
        raise SystemExit(f"hotpath_cost: {name} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr[-3000:]}")
    dumps = sorted(workdir.glob(f"callgrind.{name}*"))
    for dump in dumps:
        text = dump.read_text(errors="replace")
        if "desc: Trigger: Client Request: measured" in text:
            totals = re.search(r"^(?:summary|totals):\s+(\d+)", text, re.MULTILINE)
            if totals:
                return int(totals.group(1)), int(found.group(1))
    raise SystemExit(f"hotpath_cost: no 'measured' dump for {name} among {[d.name for d in dumps]}")


def main() -> None:
    """Parse the arguments, run every body under callgrind, print the table."""
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=100, help="chats per measured loop")
    parser.add_argument("--streams", type=int, default=5, help="streams (100 chunks each) per measured loop")
    parser.add_argument("--only", default="", help="comma-separated bodies to run (default: all)")
    parser.add_argument("--keep", default="", help="keep the callgrind files in this directory")
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("hotpath_cost: valgrind is not installed (apt-get install -y valgrind)")
    names = [n for n in args.only.split(",") if n] or list(BODIES)
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp, bench.server() as url:
        workdir = Path(args.keep) if args.keep else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        library = _compile(Path(tmp))
        for name in names:
            unit = BODIES[name][0]
            count = args.chats if unit == "chat" else args.streams
            instructions, units = _measure(name, url, count, library, workdir)
            results[name] = instructions / units
            print(f"  {name:20} {instructions / units:12,.0f} instructions per {unit}", flush=True)
    print("ours / raw httpx (instructions):")
    for kind in ("sync", "async"):
        for unit, body in (("chat", "chat"), ("chunk", "stream")):
            raw, ours = results.get(f"raw_{body}_{kind}"), results.get(f"ours_{body}_{kind}")
            if raw and ours:
                print(f"  {kind:5} per {unit:5} {ours / raw:6.3f}x")


if __name__ == "__main__":
    main()
