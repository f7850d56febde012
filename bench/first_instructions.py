"""Instruction counts (valgrind's callgrind) of the import and the first call, ours, raw httpx and the peer.

The first call after import as ``bench/peer.py first`` makes it (a fresh process imports the
client, then creates it and makes one chat against ``bench/server.py``), counted in
instructions, which do not move with the shared machine's load.  Each client runs three fresh
processes under callgrind, with the bytecode cache filled by an untimed run first:

- *base*: the script's own imports (asyncio, json, ...);
- *import*: base + ``import liter_llm`` (raw: ``import httpx``);
- *first*: import + create the client + one chat (+ closing it).

*import* is reported as import - base, *first call* as first - import.  ``--mode sync``
measures the sync clients (ours and raw httpx; the peer has none).

    python bench/first_instructions.py [--mode async|sync] [--peer PYTHON] [--installed] [--src DIR] [--repeat N]

``--peer`` names the Rust-core peer's interpreter (``bench/.peer-venv/bin/python``, made by
``bench/run.py``); ``--installed`` counts ours a second time as a user installs it (``ours+installed``:
this checkout's core and provider plugins as wheels in ``bench/.ours-venv``, made by ``bench/run.py``);
``--src`` puts a checkout's ``core/src`` first on ``sys.path``.  Talks to
127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

STAGES = ("base", "import", "first")


def child(kind: str, mode: str, stage: str, url: str) -> None:
    """One process: the base imports, then (by stage) the client's import and its first call."""
    import asyncio
    import gc  # noqa: F401
    import resource  # noqa: F401
    import time  # noqa: F401
    from collections.abc import Awaitable, Callable  # noqa: F401
    from typing import Any  # noqa: F401

    if stage == "base":
        return
    sys.path.insert(0, str(HERE))
    kind = kind.removesuffix("+installed")  # the interpreter is the environment: the same client
    if kind in ("ours", "peer"):
        import liter_llm
    else:
        import httpx
    if stage == "import":
        return
    if mode == "sync":
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello, how are you?"}]}
        if kind == "ours":
            with liter_llm.create_client(api_key="bench", base_url=url) as client:
                client.chat(model=body["model"], messages=body["messages"])
        else:
            with httpx.Client() as http:
                response = http.post(url + "/chat/completions", json=body, headers={"authorization": "Bearer bench"})
                response.raise_for_status()
                json.loads(response.content)
        return
    import peer

    async def go() -> None:
        one, close = await peer.make(kind, url)
        await one()
        await close()

    asyncio.run(go())


def count(python: str, kind: str, mode: str, stage: str, *, url: str, src: str | None) -> int:
    """Instructions callgrind counts for one child process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    if src is not None:
        env["PYTHONPATH"] = os.pathsep.join([src, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    args = [python, __file__, "--child", kind, mode, stage, url]
    subprocess.run(args, env=env, check=True, capture_output=True)  # fills the bytecode cache
    from instructions import callgrind  # bench/instructions.py (not imported by the measured child)

    return callgrind(args, env)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("async", "sync"), default="async")
    parser.add_argument("--peer", default=None, help="the Rust-core peer's interpreter (async only)")
    parser.add_argument(
        "--installed",
        action="store_true",
        help="count ours also as a user installs it (ours+installed: bench/.ours-venv, made from this checkout)",
    )
    parser.add_argument("--src", default=None, help="a core/src directory to measure instead of the installed one")
    parser.add_argument("--kinds", default="raw,peer,ours", help="which clients (comma list)")
    parser.add_argument("--repeat", type=int, default=1, help="processes per stage (the median counts)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    import run as bench

    pythons = {"raw": sys.executable, "ours": sys.executable}
    if args.peer is not None and args.mode == "async":
        pythons["peer"] = args.peer
    if args.installed:
        installed, why = bench.ours_installed_python()
        if installed is None:
            print(f"ours+installed left out: {why}", file=sys.stderr)
        else:
            pythons["ours+installed"] = installed
    kinds = [k for k in args.kinds.split(",") if k in pythons]
    if "ours+installed" in pythons and "ours+installed" not in kinds:
        kinds.append("ours+installed")
    results: dict[str, dict[str, float]] = {}
    with bench.server() as url:
        for kind in kinds:
            src = args.src if kind == "ours" else None
            stage = {
                s: statistics.median(
                    count(pythons[kind], kind, args.mode, s, url=url, src=src) for _ in range(args.repeat)
                )
                for s in STAGES
            }
            results[kind] = {
                "import_M": (stage["import"] - stage["base"]) / 1e6,
                "first_M": (stage["first"] - stage["import"]) / 1e6,
                "import_and_first_M": (stage["first"] - stage["base"]) / 1e6,
                "base_M": stage["base"] / 1e6,
            }
            r = results[kind]
            print(
                f"{kind:>14} {args.mode}: import {r['import_M']:8.1f} M, first call {r['first_M']:8.1f} M, "
                f"import + first call {r['import_and_first_M']:8.1f} M instructions",
                flush=True,
            )
    if args.out is not None:
        args.out.write_text(json.dumps({"mode": args.mode, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
