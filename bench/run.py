"""The liter-llm benchmark: our client against raw httpx, in one run, on one machine.

Run it with ``nox -s bench`` (or ``python bench/run.py``).  It starts
``bench/server.py`` (a canned OpenAI-compatible server) in its own process on
CPU 1, pins itself to CPU 0, and measures, against raw httpx doing the same
requests with ``json.loads``:

- client CPU time (user+sys, ``resource.getrusage``) per non-streamed chat,
  sync and async;
- client CPU time per streamed chunk (raw: ``httpx`` stream + ``iter_lines`` +
  ``json.loads`` per data line; ours: iterating ``chat_stream``);
- async throughput with 64 concurrent tasks;
- ``import liter_llm`` vs ``import httpx`` (``-X importtime``, fresh
  subprocesses, median), and ``import liter_llm; create_client(...)``;
- peak RSS of a fresh process doing N requests;
- against the Rust-core liter-llm (the public index's ``liter-llm`` 2.4.0,
  async only; not our package, which has the same distribution name), in its
  own virtual environment ``bench/.peer-venv`` made with ``uv`` on the first
  run: async requests/s and client CPU per request at concurrency 64, CPU per
  sequential async request, and the first call after import, each client in a
  fresh process (``bench/peer.py``), interleaved raw httpx / peer / ours.
  When the peer cannot be installed the table says so and the rest still runs.
  The first call and the import are measured for ours as installed as well
  (``ours+installed``: this checkout's core and provider plugins as wheels in
  ``bench/.ours-venv``, made again each run).

It talks to 127.0.0.1 only, is bounded in count and time (well under three
minutes), prints a table and writes ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Hello, how are you?"}]
CHAT_BODY = {"model": MODEL, "messages": MESSAGES}
STREAM_BODY = {"model": MODEL, "messages": MESSAGES, "stream": True}
AUTH = {"authorization": "Bearer bench"}

# counts (bounded: the whole run stays well under three minutes)
N_CHAT = 600  # non-streamed requests per measurement
N_STREAMS = 20  # streams per measurement (100 chunks each)
N_CONCURRENT = 64  # concurrent tasks
N_THROUGHPUT = 1920  # requests per throughput measurement (30 per task)
N_RSS = 400  # requests in the peak-RSS subprocess
REPEATS = 3  # interleaved repeats; the best (lowest CPU / highest rate) counts
#: rounds of the fresh-process comparison with the peer (each client once per round, the order reversed every
#: other round); its table gives the medians
PEER_ROUNDS = 4
IMPORT_RUNS = 5
FIRST_RUNS = 5  # fresh processes per client for the first-call figure
PEER_REQUIREMENT = "liter-llm==2.4.0"
PEER_VENV = HERE / ".peer-venv"
#: ours as a user installs it, for the first-call and import figures (``ours+installed``): this checkout's core
#: and provider plugins (the peer's breadth: no contrib integration, no test or documentation tool) with the
#: ``speedups`` extra, built as wheels into ``bench/.ours-venv``, its own ``site-packages``
OURS_VENV = HERE / ".ours-venv"
OURS_PLUGINS = ("openai", "anthropic", "google", "azure", "bedrock", "cohere", "mistral")
OURS_PACKAGES = ("core", *(f"plugins/{name}" for name in OURS_PLUGINS))
OURS_EXTRAS = ("orjson>=3.9", "uvloop>=0.19")

TARGETS = {
    "chat_sync": 1.2,
    "chat_async": 1.2,
    "chunk_sync": 1.5,
    "chunk_async": 1.5,
    "throughput_c64": 5.0,
    "rss_mb": 15.0,
    "import": 2.0,
}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def pin(cpu: int) -> bool:
    """Pin this process to one CPU when the machine has it."""
    if not hasattr(os, "sched_setaffinity"):
        return False
    try:
        if cpu not in os.sched_getaffinity(0) and len(os.sched_getaffinity(0)) < 2:
            return False
        os.sched_setaffinity(0, {cpu})
        return True
    except OSError:
        return False


@contextlib.contextmanager
def server() -> Iterator[str]:
    """Start bench/server.py on CPU 1; yield its base URL (``http://127.0.0.1:PORT/v1``)."""
    with tempfile.TemporaryDirectory() as tmp:
        port_file = os.path.join(tmp, "port")
        cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
        args = [sys.executable, str(HERE / "server.py"), port_file]
        if len(cpus) >= 2:
            args.append("1")
        proc = subprocess.Popen(args)
        try:
            deadline = time.monotonic() + 10
            while not os.path.exists(port_file):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the benchmark server did not start")
                time.sleep(0.02)
            port = Path(port_file).read_text().strip()
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# ---------------------------------------------------------------------------
# measured bodies: each returns the number of units (requests or chunks) done
# ---------------------------------------------------------------------------


def raw_chat_sync(http: httpx.Client, url: str, n: int) -> int:
    for _ in range(n):
        response = http.post(url + "/chat/completions", json=CHAT_BODY, headers=AUTH)
        response.raise_for_status()
        json.loads(response.content)
    return n


def ours_chat_sync(client: Any, n: int) -> int:
    for _ in range(n):
        client.chat(model=MODEL, messages=MESSAGES)
    return n


async def raw_chat_async(http: httpx.AsyncClient, url: str, n: int) -> int:
    for _ in range(n):
        response = await http.post(url + "/chat/completions", json=CHAT_BODY, headers=AUTH)
        response.raise_for_status()
        json.loads(response.content)
    return n


async def ours_chat_async(client: Any, n: int) -> int:
    for _ in range(n):
        await client.chat(model=MODEL, messages=MESSAGES)
    return n


def raw_stream_sync(http: httpx.Client, url: str, n: int) -> int:
    chunks = 0
    for _ in range(n):
        with http.stream("POST", url + "/chat/completions", json=STREAM_BODY, headers=AUTH) as response:
            response.raise_for_status()
            for line in response.iter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    json.loads(data)
                    chunks += 1
    return chunks


def ours_stream_sync(client: Any, n: int) -> int:
    chunks = 0
    for _ in range(n):
        for _chunk in client.chat_stream(model=MODEL, messages=MESSAGES):
            chunks += 1
    return chunks


async def raw_stream_async(http: httpx.AsyncClient, url: str, n: int) -> int:
    chunks = 0
    for _ in range(n):
        async with http.stream("POST", url + "/chat/completions", json=STREAM_BODY, headers=AUTH) as response:
            response.raise_for_status()
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        break
                    json.loads(data)
                    chunks += 1
    return chunks


async def ours_stream_async(client: Any, n: int) -> int:
    chunks = 0
    for _ in range(n):
        stream = await client.chat_stream(model=MODEL, messages=MESSAGES)
        async for _chunk in stream:
            chunks += 1
    return chunks


async def concurrently(one: Callable[[], Awaitable[Any]], total: int, tasks: int) -> int:
    per_task = total // tasks

    async def worker() -> None:
        for _ in range(per_task):
            await one()

    await asyncio.gather(*(worker() for _ in range(tasks)))
    return per_task * tasks


# ---------------------------------------------------------------------------
# measuring
# ---------------------------------------------------------------------------


def measure(body: Callable[[], int]) -> dict[str, float]:
    """Run ``body`` once; CPU seconds per unit and units per wall second."""
    gc.collect()
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    units = body()
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    return {"cpu_us": cpu / units * 1e6, "rate": units / wall, "units": units}


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    return {"cpu_us": min(r["cpu_us"] for r in runs), "rate": max(r["rate"] for r in runs), "units": runs[0]["units"]}


def bench_sync(url: str) -> dict[str, Any]:
    import liter_llm

    results: dict[str, list[dict[str, float]]] = {k: [] for k in ("raw_chat", "ours_chat", "raw_stream", "ours_stream")}
    with httpx.Client() as http, liter_llm.create_client(api_key="bench", base_url=url) as client:
        raw_chat_sync(http, url, 50)  # warm up: connections, caches, lazy imports
        ours_chat_sync(client, 50)
        raw_stream_sync(http, url, 2)
        ours_stream_sync(client, 2)
        for _ in range(REPEATS):
            results["raw_chat"].append(measure(lambda: raw_chat_sync(http, url, N_CHAT)))
            results["ours_chat"].append(measure(lambda: ours_chat_sync(client, N_CHAT)))
            results["raw_stream"].append(measure(lambda: raw_stream_sync(http, url, N_STREAMS)))
            results["ours_stream"].append(measure(lambda: ours_stream_sync(client, N_STREAMS)))
    return {k: best(v) for k, v in results.items()}


def _aiohttp_transport() -> httpx.AsyncBaseTransport | None:
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        return None
    return AiohttpTransport()


async def _bench_async(url: str) -> dict[str, Any]:
    import liter_llm
    from liter_llm.client import _default_async_transport

    default = _default_async_transport()
    out: dict[str, Any] = {"ours_transport": type(default).__name__}
    runs: dict[str, list[dict[str, float]]] = {}

    def add(name: str, result: dict[str, float]) -> None:
        runs.setdefault(name, []).append(result)

    async def timed(name: str, body: Callable[[], Awaitable[int]]) -> None:
        gc.collect()
        cpu0, wall0 = cpu_seconds(), time.perf_counter()
        units = await body()
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
        add(name, {"cpu_us": cpu / units * 1e6, "rate": units / wall, "units": units})

    aio = _aiohttp_transport()
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(httpx.AsyncClient())
        http_aio = await stack.enter_async_context(httpx.AsyncClient(transport=aio)) if aio is not None else None
        client = await stack.enter_async_context(liter_llm.create_async_client(api_key="bench", base_url=url))
        client_httpx = await stack.enter_async_context(
            liter_llm.create_async_client(api_key="bench", base_url=url, transport=httpx.AsyncHTTPTransport())
        )
        # warm up
        await raw_chat_async(http, url, 50)
        await ours_chat_async(client, 50)
        await ours_chat_async(client_httpx, 20)
        if http_aio is not None:
            await raw_chat_async(http_aio, url, 20)
        await raw_stream_async(http, url, 2)
        await ours_stream_async(client, 2)

        def raw_one(h: httpx.AsyncClient) -> Callable[[], Awaitable[Any]]:
            async def one() -> None:
                response = await h.post(url + "/chat/completions", json=CHAT_BODY, headers=AUTH)
                response.raise_for_status()
                json.loads(response.content)

            return one

        def ours_one(c: Any) -> Callable[[], Awaitable[Any]]:
            async def one() -> None:
                await c.chat(model=MODEL, messages=MESSAGES)

            return one

        for _ in range(REPEATS):
            await timed("raw_chat", lambda: raw_chat_async(http, url, N_CHAT))
            await timed("ours_chat", lambda: ours_chat_async(client, N_CHAT))
            await timed("raw_stream", lambda: raw_stream_async(http, url, N_STREAMS))
            await timed("ours_stream", lambda: ours_stream_async(client, N_STREAMS))
            if http_aio is not None:  # raw httpx over the same transport as ours: our own overhead alone
                await timed("raw_aio_chat", lambda: raw_chat_async(http_aio, url, N_CHAT))
                await timed("raw_aio_stream", lambda: raw_stream_async(http_aio, url, N_STREAMS))
            # httpx's own pool is slow under concurrency: fewer requests keep the run short
            await timed("raw_c64", lambda: concurrently(raw_one(http), N_THROUGHPUT // 3, N_CONCURRENT))
            if http_aio is not None:
                await timed("raw_aiohttp_c64", lambda: concurrently(raw_one(http_aio), N_THROUGHPUT, N_CONCURRENT))
            await timed("ours_c64", lambda: concurrently(ours_one(client), N_THROUGHPUT, N_CONCURRENT))
            await timed("ours_httpx_c64", lambda: concurrently(ours_one(client_httpx), N_THROUGHPUT // 3, N_CONCURRENT))
    out.update({k: best(v) for k, v in runs.items()})
    return out


def bench_async(url: str) -> dict[str, Any]:
    return asyncio.run(_bench_async(url))


# ---------------------------------------------------------------------------
# subprocess measurements: import time, create_client, peak RSS
# ---------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONDEVMODE", None)
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    # fresh processes use (and write) the bytecode cache, as an installed package does: without it
    # every start compiles each of our modules from source (a development checkout's cost only)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def import_time_us(module: str) -> float:
    """Median cumulative ``-X importtime`` of ``module`` over fresh interpreters."""
    samples = []
    for _ in range(IMPORT_RUNS):
        proc = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", f"import {module}"],
            capture_output=True,
            text=True,
            check=True,
            env=_child_env(),
        )
        for line in proc.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[2].strip() == module:
                samples.append(float(parts[1]))
    return statistics.median(samples)


def create_client_ms() -> float:
    code = (
        "import time; t = time.perf_counter(); import liter_llm; "
        "c = liter_llm.create_client(api_key='bench', base_url='http://127.0.0.1:9/v1'); "
        "print((time.perf_counter() - t) * 1000)"
    )
    samples = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(5)
    ]
    return statistics.median(samples)


def rss_child(kind: str, url: str, n: int) -> None:
    """Entry point of the peak-RSS subprocess: do ``n`` requests, print ru_maxrss in KiB."""
    pin(0)
    if kind == "raw":
        with httpx.Client() as http:
            raw_chat_sync(http, url, n)
            raw_stream_sync(http, url, 5)
    elif kind == "raw_async":

        async def go() -> None:
            async with httpx.AsyncClient() as http:
                await concurrently(lambda: raw_chat_async(http, url, 1), n, 16)

        asyncio.run(go())
    elif kind == "ours":
        import liter_llm

        with liter_llm.create_client(api_key="bench", base_url=url) as client:
            ours_chat_sync(client, n)
            ours_stream_sync(client, 5)
    else:
        import liter_llm

        async def go_ours() -> None:
            async with liter_llm.create_async_client(api_key="bench", base_url=url) as client:
                await concurrently(lambda: ours_chat_async(client, 1), n, 16)

        asyncio.run(go_ours())
    print(peak_rss_kib())


def peak_rss_kib() -> int:
    """This process's peak RSS in KiB.

    ``VmHWM`` of /proc/self/status where there is one: ``ru_maxrss`` of a
    process started with fork+exec also counts the parent's memory at the fork
    (Linux keeps it across exec), which would hide the difference we measure.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def peak_rss_mb(kind: str, url: str) -> float:
    proc = subprocess.run(
        [sys.executable, __file__, "--rss", kind, "--url", url, "--n", str(N_RSS)],
        capture_output=True,
        text=True,
        check=True,
        env=_child_env(),
    )
    return int(proc.stdout.strip().splitlines()[-1]) / 1024  # Linux: KiB


# ---------------------------------------------------------------------------
# the Rust-core peer (its own virtual environment; benchmark-only)
# ---------------------------------------------------------------------------


def _uv() -> str | None:
    import shutil

    found = shutil.which("uv")
    if found:
        return found
    for candidate in (HERE.parent / ".tools" / "bin" / "uv", Path(sys.executable).parent / "uv"):
        if candidate.exists():
            return str(candidate)
    return None


def _run_quietly(command: list[str], *, timeout: float) -> None:
    """Run a set-up command, its output captured (``CalledProcessError`` carries it when it fails)."""
    subprocess.run(command, check=True, timeout=timeout, capture_output=True, text=True)


def peer_python() -> tuple[str | None, str]:
    """The peer's interpreter (``bench/.peer-venv``, made on first use), or ``None`` and why not."""
    python = PEER_VENV / "bin" / "python"
    check = "import importlib.metadata as m; print(m.version('liter-llm'))"

    def installed() -> str | None:
        if not python.exists():
            return None
        proc = subprocess.run([str(python), "-c", check], check=False, capture_output=True, text=True, env=_child_env())
        return proc.stdout.strip() if proc.returncode == 0 else None

    version = installed()
    if version == PEER_REQUIREMENT.split("==")[1]:
        return str(python), version
    uv = _uv()
    if uv is None:
        return None, "uv not found (needed to make bench/.peer-venv)"
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    try:
        _run_quietly([uv, "venv", "--quiet", "--python", sys.executable, str(PEER_VENV)], timeout=120)
        _run_quietly([uv, "pip", "install", "--quiet", "--python", str(python), PEER_REQUIREMENT], timeout=240)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return None, f"could not install {PEER_REQUIREMENT} for Python {py}: {detail.strip().splitlines()[-1:]}"
    version = installed()
    if version is None:
        return None, f"{PEER_REQUIREMENT} installed but cannot be imported"
    return str(python), version


def ours_installed_python() -> tuple[str | None, str]:
    """Ours installed from this checkout into ``bench/.ours-venv`` (made again each run), or ``None`` and why not.

    The development environment is not what a user has: every workspace package is an editable
    install (its own ``sys.path`` entry, searched for each top-level module), the contrib plugins
    (record, OpenTelemetry...) load with the first client, and the test and documentation tools are
    there (with click and pygments installed, ``import httpx`` imports both for its command line).
    The peer runs in an environment of its own; this is ours made the same way.
    """
    python = OURS_VENV / "bin" / "python"
    uv = _uv()
    if uv is None:
        return None, "uv not found (needed to make bench/.ours-venv)"
    root = HERE.parent
    try:
        if not python.exists():
            _run_quietly([uv, "venv", "--quiet", "--python", sys.executable, str(OURS_VENV)], timeout=120)
        packages = [str(root / name) for name in OURS_PACKAGES]
        reinstall = [arg for name in OURS_PACKAGES for arg in ("--reinstall-package", _distribution(root / name))]
        command = [uv, "pip", "install", "--quiet", "--no-sources", "--python", str(python), *reinstall]
        _run_quietly([*command, *packages, *OURS_EXTRAS], timeout=300)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        detail = getattr(exc, "stderr", "") or str(exc)
        return None, f"could not install this checkout into {OURS_VENV.name}: {detail.strip().splitlines()[-1:]}"
    check = "import liter_llm, importlib.metadata as m; print(m.version('liter-llm-core'))"
    proc = subprocess.run([str(python), "-c", check], check=False, capture_output=True, text=True, env=_child_env())
    if proc.returncode != 0:
        return None, f"installed into {OURS_VENV.name} but cannot be imported: {proc.stderr.strip()[-200:]}"
    return str(python), proc.stdout.strip()


def _distribution(path: Path) -> str:
    """The distribution name in ``path/pyproject.toml`` (its ``[project]`` table's first line, ``name = "..."``)."""
    for line in (path / "pyproject.toml").read_text(encoding="utf-8").splitlines():
        if line.startswith("name = "):
            return line.split("=", 1)[1].strip().strip('"')
    raise ValueError(f"no project name in {path / 'pyproject.toml'}")


def _client_run(python: str, kind: str, url: str, *args: str, timeout: float = 120) -> dict[str, Any] | None:
    """One ``bench/peer.py`` process; its JSON result (``None`` if it failed)."""
    try:
        proc = subprocess.run(
            [python, str(HERE / "peer.py"), kind, url, *args],
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_child_env(),
        )
    except subprocess.TimeoutExpired:
        print(f"bench: {kind} client timed out", file=sys.stderr)
        return None
    lines = proc.stdout.strip().splitlines()
    if not lines or not lines[-1].startswith("{"):
        print(f"bench: {kind} client failed ({proc.returncode}): {proc.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    # the peer's process sometimes aborts at interpreter exit (its runtime's shutdown, after the
    # result was printed): the measurement itself is complete
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def bench_peer(url: str) -> dict[str, Any]:
    """raw httpx / peer / ours async, each in fresh processes, interleaved: c64, sequential, first call."""
    peer, peer_version = peer_python()
    pythons = {"raw": sys.executable, "ours": sys.executable}
    if peer is not None:
        pythons["peer"] = peer
    kinds = [k for k in ("raw", "peer", "ours") if k in pythons]
    try:  # ours over aiohttp's pool, its async transport before issue #16 (information)
        import aiohttp  # noqa: F401

        pythons["ours+aiohttp"] = sys.executable
        kinds.append("ours+aiohttp")
    except ImportError:
        pass
    try:  # liter-llm[speedups]: ours on uvloop's event loop as well (information)
        import uvloop  # noqa: F401

        pythons["ours+uvloop"] = sys.executable
        kinds.append("ours+uvloop")
    except ImportError:
        pass
    #: the first call and the import are measured for ours as installed as well (not the rounds: the
    #: per-request figures do not depend on how the package was installed)
    first_kinds = list(kinds)
    installed, installed_why = ours_installed_python()
    if installed is not None:
        pythons["ours+installed"] = installed
        first_kinds.append("ours+installed")
    runs: dict[str, dict[str, list[Any]]] = {k: {"seq": [], "c64": [], "first": [], "import": []} for k in first_kinds}
    #: each round's result per client (``None``: that process failed), to compare clients run next to each other
    rounds: list[dict[str, Any]] = []
    for index in range(PEER_ROUNDS):
        this_round: dict[str, Any] = {}
        # every other round in the reverse order: a shared machine that slows down (or speeds up) over a run
        # would otherwise always favour the client that runs first in a round
        for kind in kinds if index % 2 == 0 else kinds[::-1]:
            # raw httpx's own pool is slow under concurrency: fewer requests keep the run short
            total = N_THROUGHPUT // 3 if kind == "raw" else N_THROUGHPUT
            out = _client_run(pythons[kind], kind, url, "rounds", str(N_CHAT), str(total), str(N_CONCURRENT), "1")
            this_round[kind] = out
            if out is not None:
                runs[kind]["seq"].extend(out["seq"])
                runs[kind]["c64"].extend(out["c64"])
        rounds.append(this_round)
    for kind in first_kinds:  # untimed: fills the bytecode cache (and the installed plugin index)
        _client_run(pythons[kind], kind, url, "first", timeout=60)
    for index in range(FIRST_RUNS):
        for kind in first_kinds if index % 2 == 0 else first_kinds[::-1]:
            out = _client_run(pythons[kind], kind, url, "first", timeout=60)
            if out is not None:
                runs[kind]["first"].append(out["first_ms"])
                runs[kind]["import"].append(out["import_ms"])
    result: dict[str, Any] = {"requirement": PEER_REQUIREMENT, "peer_installed": peer is not None}
    if peer is None:
        result["peer_missing"] = peer_version
    else:
        result["peer_version"] = peer_version
    if installed is None:
        result["installed_missing"] = installed_why
    result["per_round"] = _per_round_ratios(rounds)
    for kind, data in runs.items():
        if not data["c64"] and not data["first"]:
            continue
        result[kind] = {
            "c64_rate": statistics.median(r["rate"] for r in data["c64"]) if data["c64"] else None,
            "c64_cpu_us": statistics.median(r["cpu_us"] for r in data["c64"]) if data["c64"] else None,
            "seq_cpu_us": statistics.median(data["seq"]) if data["seq"] else None,
            "first_ms": statistics.median(data["first"]) if data["first"] else None,
            "import_ms": statistics.median(data["import"]) if data["import"] else None,
            "runs": data,
        }
    return result


def _per_round_ratios(rounds: list[dict[str, Any]]) -> dict[str, list[float]]:
    """ours / peer in each round where both ran: the two processes ran one after the other, so a change of
    the shared machine's speed between rounds moves both (the medians of the table compare across rounds)."""
    ratios: dict[str, list[float]] = {"c64_rate": [], "c64_cpu_us": [], "seq_cpu_us": []}
    for this_round in rounds:
        ours, peer = this_round.get("ours"), this_round.get("peer")
        if not ours or not peer or not ours["c64"] or not peer["c64"]:
            continue
        ratios["c64_rate"].append(ours["c64"][0]["rate"] / peer["c64"][0]["rate"])
        ratios["c64_cpu_us"].append(ours["c64"][0]["cpu_us"] / peer["c64"][0]["cpu_us"])
        ratios["seq_cpu_us"].append(ours["seq"][0] / peer["seq"][0])
    return ratios


def print_peer(peer: dict[str, Any]) -> None:
    print(
        f"\nagainst the Rust-core liter-llm ({peer['requirement']}; medians of {PEER_ROUNDS} rounds of fresh "
        f"processes, the order reversed every other round; first call: {FIRST_RUNS})"
    )
    if not peer["peer_installed"]:
        print(f"  the peer could not be installed: {peer['peer_missing']}; its column is empty")
    figures = [
        ("c64_rate", "async req/s at concurrency 64", "{:.0f}"),
        ("c64_cpu_us", "async CPU per request at concurrency 64, us", "{:.1f}"),
        ("seq_cpu_us", "async CPU per sequential request, us", "{:.1f}"),
        ("first_ms", "first call after import (create + 1 chat), ms", "{:.1f}"),
        ("import_ms", "import time (in-process, median), ms", "{:.1f}"),
    ]
    extras = [kind for kind in ("ours+aiohttp", "ours+uvloop", "ours+installed") if kind in peer]
    head = f"  {'measure':<50}{'raw httpx':>11}{'peer':>11}{'ours':>11}{'ours/peer':>11}"
    print(head + "".join(f"{kind:>16}" for kind in extras))
    for key, what, fmt in figures:
        cells = []
        for kind in ("raw", "peer", "ours"):
            value = peer.get(kind, {}).get(key)
            cells.append(fmt.format(value) if value is not None else "-")
        ours, other = peer.get("ours", {}).get(key), peer.get("peer", {}).get(key)
        ratio = f"{ours / other:.2f}x" if ours and other else "-"
        extra = ""
        for kind in extras:
            value = peer[kind].get(key)
            extra += f"{fmt.format(value) if value is not None else '-':>16}"
        print(f"  {what:<50}{cells[0]:>11}{cells[1]:>11}{cells[2]:>11}{ratio:>11}{extra}")
    if "installed_missing" in peer:
        print(f"  ours as installed could not be measured: {peer['installed_missing']}")
    elif "ours+installed" in peer:
        print(
            "  ours+installed: this checkout's core and provider plugins as wheels in bench/.ours-venv (first call"
            " and import only)"
        )
    per_round = peer.get("per_round") or {}
    if any(per_round.values()):
        print("  ours / peer in each round (the two processes one after the other):")
        for key, what, _fmt in figures[:3]:
            values = per_round.get(key) or []
            if values:
                shown = " ".join(f"{value:.2f}x" for value in values)
                print(f"    {what:<48}{shown}   median {statistics.median(values):.2f}x")


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("liter-llm-core", "httpx", "httpcore", "httpx-aiohttp", "aiohttp", "pluggy", "cattrs", "attrs"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "-"
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rss", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--n", type=int, default=N_RSS, help=argparse.SUPPRESS)
    parser.add_argument("--output", default=str(HERE / "results.json"), help="where to write the JSON results")
    parser.add_argument(
        "--peer-only", action="store_true", help="only the fresh-process async comparison (raw, peer, ours...)"
    )
    args = parser.parse_args()
    if args.rss:
        rss_child(args.rss, args.url, args.n)
        return 0
    if args.peer_only:
        pin(0)
        with server() as url:
            peer = bench_peer(url)
        print_peer(peer)
        Path(args.output).write_text(json.dumps({"peer": peer}, indent=2) + "\n")
        return 0

    started = time.perf_counter()
    pinned = pin(0)
    with server() as url:
        sync = bench_sync(url)
        asyn = bench_async(url)
        rss = {kind: peak_rss_mb(kind, url) for kind in ("raw", "ours", "raw_async", "ours_async")}
        peer = bench_peer(url)
    imports = {"liter_llm": import_time_us("liter_llm") / 1000, "httpx": import_time_us("httpx") / 1000}
    create_ms = create_client_ms()
    elapsed = time.perf_counter() - started

    def ratio(ours: float, raw: float) -> float:
        return round(ours / raw, 2)

    rows: list[dict[str, Any]] = [
        {
            "metric": "chat_sync",
            "what": "CPU per chat (sync), us",
            "raw": sync["raw_chat"]["cpu_us"],
            "ours": sync["ours_chat"]["cpu_us"],
            "ratio": ratio(sync["ours_chat"]["cpu_us"], sync["raw_chat"]["cpu_us"]),
            "target": "<= 1.2x",
        },
        {
            "metric": "chat_async",
            "what": "CPU per chat (async), us",
            "raw": asyn["raw_chat"]["cpu_us"],
            "ours": asyn["ours_chat"]["cpu_us"],
            "ratio": ratio(asyn["ours_chat"]["cpu_us"], asyn["raw_chat"]["cpu_us"]),
            "target": "<= 1.2x",
        },
        {
            "metric": "chunk_sync",
            "what": "CPU per stream chunk (sync), us",
            "raw": sync["raw_stream"]["cpu_us"],
            "ours": sync["ours_stream"]["cpu_us"],
            "ratio": ratio(sync["ours_stream"]["cpu_us"], sync["raw_stream"]["cpu_us"]),
            "target": "<= 1.5x",
        },
        {
            "metric": "chunk_async",
            "what": "CPU per stream chunk (async), us",
            "raw": asyn["raw_stream"]["cpu_us"],
            "ours": asyn["ours_stream"]["cpu_us"],
            "ratio": ratio(asyn["ours_stream"]["cpu_us"], asyn["raw_stream"]["cpu_us"]),
            "target": "<= 1.5x",
        },
        {
            "metric": "throughput_c64",
            "what": "async req/s at concurrency 64",
            "raw": asyn["raw_c64"]["rate"],
            "ours": asyn["ours_c64"]["rate"],
            "ratio": ratio(asyn["ours_c64"]["rate"], asyn["raw_c64"]["rate"]),
            "target": ">= 5x",
        },
        {
            "metric": "cpu_c64",
            "what": "CPU per request at concurrency 64, us",
            "raw": asyn["raw_c64"]["cpu_us"],
            "ours": asyn["ours_c64"]["cpu_us"],
            "ratio": ratio(asyn["ours_c64"]["cpu_us"], asyn["raw_c64"]["cpu_us"]),
            "target": "(info)",
        },
        {
            "metric": "rss_mb",
            "what": f"peak RSS, {N_RSS} chats + 5 streams (sync), MB",
            "raw": rss["raw"],
            "ours": rss["ours"],
            "ratio": round(rss["ours"] - rss["raw"], 1),
            "target": "<= +15 MB",
        },
        {
            "metric": "rss_async_mb",
            "what": f"peak RSS, {N_RSS} chats at concurrency 16 (async), MB",
            "raw": rss["raw_async"],
            "ours": rss["ours_async"],
            "ratio": round(rss["ours_async"] - rss["raw_async"], 1),
            "target": "<= +15 MB",
        },
        {
            "metric": "import",
            "what": "import time (-X importtime, median), ms",
            "raw": imports["httpx"],
            "ours": imports["liter_llm"],
            "ratio": ratio(imports["liter_llm"], imports["httpx"]),
            "target": "<= 2x",
        },
    ]
    limits = {"chat_sync": 1.2, "chat_async": 1.2, "chunk_sync": 1.5, "chunk_async": 1.5}
    for row in rows:
        m = row["metric"]
        if m in limits:
            row["met"] = row["ratio"] <= limits[m]
        elif m == "throughput_c64":
            row["met"] = row["ratio"] >= 5.0
        elif m in ("rss_mb", "rss_async_mb"):
            row["met"] = row["ratio"] <= 15.0
        elif m == "import":
            row["met"] = row["ratio"] <= 2.0
        else:
            row["met"] = None
    extra = {
        "create_client_ms": create_ms,
        "ours_async_transport": asyn["ours_transport"],
        "async_same_transport": {
            k: round(asyn[k]["cpu_us"], 1) for k in ("raw_aio_chat", "raw_aio_stream") if k in asyn
        },
        "async_rates": {
            k: {"req_per_s": round(asyn[k]["rate"]), "cpu_us_per_req": round(asyn[k]["cpu_us"], 1)}
            for k in ("raw_c64", "raw_aiohttp_c64", "ours_c64", "ours_httpx_c64")
            if k in asyn
        },
    }

    print(f"\nliter-llm benchmark (client pinned to CPU 0: {pinned}; server on CPU 1)")
    print(f"{'measure':<52}{'raw httpx':>12}{'liter-llm':>12}{'ratio':>9}  {'target':<10}met")
    for row in rows:
        met = {True: "yes", False: "NO", None: "-"}[row["met"]]
        ratio_text = f"{row['ratio']:+.1f}" if row["metric"].startswith("rss") else f"{row['ratio']:.2f}x"
        print(f"{row['what']:<52}{row['raw']:>12.1f}{row['ours']:>12.1f}{ratio_text:>9}  {row['target']:<10}{met}")
    print("\nasync at concurrency 64 (req/s, CPU us per request):")
    labels = {
        "raw_c64": "raw httpx AsyncClient (httpcore pool)",
        "raw_aiohttp_c64": "raw httpx AsyncClient + httpx-aiohttp transport",
        "ours_c64": f"liter-llm async client (default: {asyn['ours_transport']})",
        "ours_httpx_c64": "liter-llm async client over httpx's own transport",
    }
    for key, value in extra["async_rates"].items():
        print(f"  {labels[key]:<62}{value['req_per_s']:>8} req/s {value['cpu_us_per_req']:>8.1f} us")
    same = extra["async_same_transport"]
    if same:
        print("\nasync, raw httpx over the same aiohttp transport as ours (our own overhead alone):")
        chat_ratio = asyn["ours_chat"]["cpu_us"] / same["raw_aio_chat"]
        chunk_ratio = asyn["ours_stream"]["cpu_us"] / same["raw_aio_stream"]
        print(
            f"  CPU per chat {same['raw_aio_chat']:.1f} us raw vs {asyn['ours_chat']['cpu_us']:.1f} us ours "
            f"({chat_ratio:.2f}x); CPU per chunk {same['raw_aio_stream']:.1f} us raw vs "
            f"{asyn['ours_stream']['cpu_us']:.1f} us ours ({chunk_ratio:.2f}x)"
        )
    print_peer(peer)
    print(f"\nimport liter_llm + create_client(...): {create_ms:.1f} ms (information)")
    print(f"whole run: {elapsed:.1f} s")

    result = {
        "command": "nox -s bench",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "pinned": pinned,
        "counts": {
            "chat": N_CHAT,
            "streams": N_STREAMS,
            "chunks_per_stream": 100,
            "concurrency": N_CONCURRENT,
            "throughput_requests": N_THROUGHPUT,
            "rss_requests": N_RSS,
            "repeats": REPEATS,
        },
        "versions": versions(),
        "rows": rows,
        "extra": extra,
        "peer": {
            k: ({kk: vv for kk, vv in v.items() if kk != "runs"} if isinstance(v, dict) else v) for k, v in peer.items()
        },
        "peer_runs": {k: peer[k]["runs"] for k in ("raw", "peer", "ours", "ours+uvloop") if k in peer},
        "elapsed_s": round(elapsed, 1),
    }
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
