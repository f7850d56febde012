"""Wall clock of ours' import and first call, taken apart by module, beside the Rust-core peer's two figures.

The first call as ``bench/peer.py first`` makes it (a fresh process imports the client, then
creates the async client and makes one chat against ``bench/server.py``), taken apart in fresh
processes pinned to CPU 0 (the server runs on CPU 1):

1. one process runs the import and the first call under ``-X importtime``, which prints each module
   when its import *finishes*: that order is the list of modules to time, each one after everything
   it imports;
2. each measured process imports those modules one at a time, in that order, timing each with
   ``time.perf_counter``, then creates the client and makes the chat (each timed), then a second
   chat (what every later call costs).

The import's modules are reported by what ``liter_llm/__init__.py`` imports them for (attrs,
httpx, the hook specifications with pluggy), the first call's by module for ours and by top-level
package for everything else.  Their sum is the cost of the two figures' code with no timer around
each module: the gap to the peer, and what moving modules from the first call into the import would
and would not change, can be read from it.  The peer is measured in the same run, interleaved
(``bench/peer.py peer URL first``).

    python bench/first_stages.py [--installed] [--peer PYTHON] [--runs N] [--out FILE]

``--installed`` measures ours as a user installs it (``bench/.ours-venv``, made by
``bench/run.py``); without it, this environment.  Talks to 127.0.0.1 only.
"""

from __future__ import annotations

# the measured processes import what bench/peer.py imports before its figures, and no more (argparse,
# pathlib, subprocess... are imported by the parent's main() only: httpx imports pathlib, for one)
import asyncio
import gc  # noqa: F401
import json
import os
import resource  # noqa: F401
import sys
import time
from collections.abc import Awaitable, Callable  # noqa: F401
from typing import Any

from peer import _body as chat_body  # bench/peer.py (this folder is sys.path[0]): the chat of the first-call figure

HERE = os.path.dirname(os.path.abspath(__file__))


def _first_call(url: str, timings: list[tuple[str, float]] | None) -> None:
    """Create the async client, make one chat (and, when timed, a second), close it.

    Untimed (the discovery process), the line between creating the client and the chat is marked
    on stderr, so that the modules each of the two imports are told apart.
    """
    import liter_llm

    body = chat_body()

    async def go() -> None:
        t0 = time.perf_counter()
        client = liter_llm.create_async_client(api_key="bench", base_url=url)
        t1 = time.perf_counter()
        if timings is None:
            print("--- chat", file=sys.stderr, flush=True)
        await client.chat(model=body["model"], messages=body["messages"])
        t2 = time.perf_counter()
        await client.chat(model=body["model"], messages=body["messages"])
        t3 = time.perf_counter()
        await client.aclose()
        if timings is not None:
            timings.extend([("create", (t1 - t0) * 1e3), ("chat", (t2 - t1) * 1e3), ("second chat", (t3 - t2) * 1e3)])

    asyncio.run(go())


def child_order(url: str) -> None:
    """The discovery process (under ``-X importtime``): import, first call."""
    print("--- import", file=sys.stderr, flush=True)
    import liter_llm  # noqa: F401

    print("--- create", file=sys.stderr, flush=True)
    _first_call(url, None)


def child_measure(url: str, order_file: str) -> None:
    """A measured process: each module of the order file imported and timed, then the call."""
    import importlib

    with open(order_file, encoding="utf-8") as f:
        order = json.load(f)
    timings: list[tuple[str, float]] = []
    for stage in ("import", "create", "chat"):
        for name in order[stage]:
            if name in sys.modules:
                continue  # imported with one before it (a package's __init__, an import cycle): counted there
            before = set(sys.modules)
            t0 = time.perf_counter()
            try:
                importlib.import_module(name)
            except ImportError:  # an optional module the discovery process tried and did not find (brotli, nt...)
                continue  # the module that tries it pays the attempt when it is imported
            elapsed = (time.perf_counter() - t0) * 1e3
            # ours imported along with it (one side of an import cycle), named with it
            along = sorted(m for m in sys.modules if m not in before and m != name and m.startswith("liter_llm"))
            timings.append((f"{stage}:{' + '.join([name, *along])}", elapsed))
    _first_call(url, timings)
    print(json.dumps(timings))


def parse_importtime(stderr: str) -> dict[str, Any]:
    """The modules each stage (import, create, chat) imports, in the order they finish, and the import's groups."""
    stage = None
    rows: dict[str, list[tuple[str, int]]] = {"import": [], "create": [], "chat": []}
    for line in stderr.splitlines():
        if line.startswith("--- "):
            stage = line[4:].strip()
            continue
        if stage is None or not line.startswith("import time:") or "|" not in line:
            continue
        parts = line.split("|")
        if not parts[1].strip().isdigit():
            continue  # the header line
        name = parts[2].rstrip()
        depth = (len(name) - len(name.lstrip(" "))) // 2
        rows[stage].append((name.strip(), depth))
    groups: dict[str, str] = {}
    for i, (name, _depth) in enumerate(rows["import"]):
        # finish order: a module's depth-1 ancestor (what liter_llm/__init__.py imports) is the next depth-1 line
        ancestor = next((n for n, d in rows["import"][i:] if d <= 1), name)
        # liter_llm/__init__.py runs when the first of its modules is imported, so it is counted with them
        groups[name] = ancestor if not ancestor.startswith("liter_llm") else "liter_llm's own modules (with pluggy)"
    return {
        "import": [name for name, _ in rows["import"]],
        "create": [name for name, _ in rows["create"]],
        "chat": [name for name, _ in rows["chat"]],
        "groups": groups,
    }


def _label(name: str, groups: dict[str, str]) -> str:
    stage, module = name.split(":", 1)
    if stage == "import":
        return "import: " + groups.get(module.split(" + ")[0], module)
    if module.startswith("liter_llm"):
        return f"{stage}: {module}"
    return f"{stage}: other " + module.split(".")[0]


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--child-order":
        child_order(sys.argv[2])
        return
    if len(sys.argv) > 3 and sys.argv[1] == "--child-measure":
        child_measure(sys.argv[2], sys.argv[3])
        return
    import argparse
    import subprocess
    import tempfile
    from pathlib import Path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--installed", action="store_true", help="ours as installed (bench/.ours-venv)")
    parser.add_argument("--peer", default=None, help="the Rust-core peer's interpreter (default: bench/.peer-venv)")
    parser.add_argument("--runs", type=int, default=9, help="measured processes per client (the median counts)")
    parser.add_argument("--out", type=Path, default=None, help="write the figures here as JSON")
    args = parser.parse_args()
    sys.path.insert(0, HERE)
    import run as bench

    python = sys.executable
    if args.installed:
        installed, why = bench.ours_installed_python()
        if installed is None:
            sys.exit(f"bench/.ours-venv could not be made: {why}")
        python = installed
    peer = args.peer
    if peer is None:
        peer, why = bench.peer_python()
        if peer is None:
            print(f"the peer is left out: {why}", file=sys.stderr)
    bench.pin(0)  # the children inherit CPU 0; the server pins itself to CPU 1
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPROFILEIMPORTTIME")}
    me = str(Path(__file__).resolve())
    # the plugin index is not written within 2 s of a change to what it watches (site-packages, just
    # installed into): without the wait every measured process would scan the entry points
    time.sleep(2.5)
    with bench.server() as url:
        for _ in range(2):  # the bytecode cache, the plugin index and the code cache filled and current
            found = subprocess.run(
                [python, "-X", "importtime", me, "--child-order", url],
                check=False,
                env=env,
                capture_output=True,
                text=True,
            )
            if found.returncode != 0:
                sys.exit(f"the discovery process failed: {found.stderr[-2000:]}")
        order = parse_importtime(found.stderr)
        # outside bench/: a file written there would change the folder's time, which the plugin index
        # of the measured processes (bench/ is their sys.path[0]) watches
        fd, order_file = tempfile.mkstemp(suffix=".json", prefix="first-stages-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(order, f)
        try:
            runs: list[dict[str, float]] = []
            peer_runs: list[dict[str, float]] = []
            subprocess.run([python, me, "--child-measure", url, order_file], check=True, env=env, capture_output=True)
            for index in range(args.runs):
                if peer is not None and index % 2:
                    peer_runs.append(bench._client_run(peer, "peer", url, "first") or {})
                out = subprocess.run(
                    [python, me, "--child-measure", url, order_file],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                totals: dict[str, float] = {}
                for name, ms in json.loads(out.stdout.strip().splitlines()[-1]):
                    label = name if ":" not in name else _label(name, order["groups"])
                    totals[label] = totals.get(label, 0.0) + ms
                runs.append(totals)
                if peer is not None and not index % 2:
                    peer_runs.append(bench._client_run(peer, "peer", url, "first") or {})
        finally:
            os.unlink(order_file)
    report(runs, [r for r in peer_runs if r], args.out, installed=args.installed)


def report(runs: list[dict[str, float]], peer_runs: list[dict[str, float]], out: Any, *, installed: bool) -> None:
    """Print the medians (and write them as JSON to ``out``, a path, when given)."""
    import statistics

    labels = list(dict.fromkeys(label for r in runs for label in r))
    median = {label: statistics.median(r.get(label, 0.0) for r in runs) for label in labels}

    def stage(name: str) -> dict[str, float]:
        return {k.removeprefix(name + ": "): v for k, v in median.items() if k.startswith(name + ": ")}

    imported, at_create, at_chat = stage("import"), stage("create"), stage("chat")
    import_ms = sum(imported.values())
    create_ms = sum(at_create.values()) + median["create"]
    chat_ms = sum(at_chat.values()) + median["chat"]
    modules_ms = sum(at_create.values()) + sum(at_chat.values())

    def top(modules: dict[str, float], depth: int) -> list[tuple[int, str, float]]:
        return [(depth, k, v) for k, v in sorted(modules.items(), key=lambda kv: -kv[1])[:12]]

    lines: list[tuple[int, str, float]] = [(0, "import liter_llm", import_ms), *top(imported, 1)]
    lines.append((0, "first call", create_ms + chat_ms))
    lines.append((1, "create the client", create_ms))
    lines.append((2, f"the {len(at_create)} modules it imports", sum(at_create.values())))
    lines += top(at_create, 3)
    lines.append((2, "the rest", median["create"]))
    lines.append((1, "the first chat", chat_ms))
    lines.append((2, f"the {len(at_chat)} modules it imports", sum(at_chat.values())))
    lines += top(at_chat, 3)
    lines.append((2, "the rest", median["chat"]))
    lines.append((0, "import + first call", import_ms + create_ms + chat_ms))
    lines.append((0, "a later chat", median["second chat"]))
    lines.append((0, "moved: import with the first call's modules", import_ms + modules_ms))
    lines.append((0, "moved: first call without them", median["create"] + median["chat"]))
    width = max(2 * depth + len(label) for depth, label, _ in lines) + 2
    where = "installed (bench/.ours-venv)" if installed else "this environment"
    print(f"ours, {where}: wall clock, ms, medians of {len(runs)} fresh processes")
    for depth, label, value in lines:
        print(f"  {'  ' * depth + label:<{width}}{value:8.2f}")
    result: dict[str, Any] = {"ours": median, "installed": installed, "runs": len(runs)}
    if peer_runs:
        peer = {k: statistics.median(r[k] for r in peer_runs) for k in ("import_ms", "first_ms")}
        result["peer"] = peer
        print(
            f"peer, medians of {len(peer_runs)}: import {peer['import_ms']:.2f}, first call {peer['first_ms']:.2f}, "
            f"import + first call {peer['import_ms'] + peer['first_ms']:.2f}"
        )
    if out is not None:
        out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
