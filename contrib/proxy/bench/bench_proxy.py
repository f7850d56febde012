"""The proxy benchmark (``nox -s bench_proxy``): our proxy and litellm's, in front of one canned upstream.

Measured in one run:

- requests per second at concurrency 64 (64 keep-alive connections, one request in flight on each)
  through ``liter-llm serve`` (1 worker, a virtual key, the spend log in SQLite) and through
  litellm's proxy (1 worker, its master key, no database), to bench/server.py;
- the latency each proxy adds over calling the upstream directly: p50 and p99 of sequential
  requests (one connection, no queueing) through the proxy, minus the same for the upstream;
- our proxy's resident memory (VmRSS) after warm-up and after 100,000 requests.

The load generator is a raw asyncio HTTP/1.1 client (much cheaper per request than the servers
measured).  litellm runs from its own virtual environment (``--litellm-python``); without it, its
rows say "not installed".  Results are printed as a Markdown table and written as JSON.

Run: python contrib/proxy/bench/bench_proxy.py [--requests 100000] [--litellm-python PATH] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]
MASTER = "sk-bench-master-key-0123456789"
BODY = json.dumps(
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hello, benchmark!"}], "max_tokens": 32}
).encode()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def wait_http(
    url: str, process: subprocess.Popen[bytes], seconds: float, headers: dict[str, str] | None = None
) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if httpx.get(url, timeout=2, headers=headers).status_code < 500:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {seconds} s")
        time.sleep(0.2)


@contextlib.contextmanager
def process(
    args: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(args, env={**os.environ, **(env or {})}, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def upstream() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        with process([sys.executable, str(ROOT / "bench" / "server.py"), str(port_file)]) as proc:
            deadline = time.monotonic() + 10
            while not port_file.exists() or not port_file.read_text().strip():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("bench/server.py did not start")
                time.sleep(0.02)
            yield f"http://127.0.0.1:{port_file.read_text().strip()}"


# -- the load generator ------------------------------------------------------------------------------
class Connection:
    """One keep-alive HTTP/1.1 connection sending the same POST again and again."""

    def __init__(self, port: int, path: str, key: str | None) -> None:
        self.port = port
        auth = f"authorization: Bearer {key}\r\n" if key else ""
        self.request = (
            f"POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\n{auth}"
            f"content-length: {len(BODY)}\r\n\r\n"
        ).encode() + BODY
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)

    async def one(self) -> int:
        assert self.reader is not None
        assert self.writer is not None
        self.writer.write(self.request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        chunked = False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                await self.reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await self.reader.readexactly(length)
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()


async def throughput(port: int, path: str, key: str | None, *, concurrency: int, seconds: float) -> dict[str, float]:
    """Requests per second with ``concurrency`` connections for ``seconds`` (after a short warm-up)."""
    connections = [Connection(port, path, key) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))
    done = errors = 0
    stop = 0.0
    counting = False

    async def worker(c: Connection) -> None:
        nonlocal done, errors
        while time.perf_counter() < stop:
            status = await c.one()
            if counting:
                done += 1
                if status != 200:
                    errors += 1

    stop = time.perf_counter() + 2.0  # warm-up
    await asyncio.gather(*(worker(c) for c in connections))
    counting = True
    start = time.perf_counter()
    stop = start + seconds
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - start
    await asyncio.gather(*(c.close() for c in connections))
    return {"rps": done / elapsed, "requests": done, "errors": errors}


async def latency(port: int, path: str, key: str | None, *, n: int) -> dict[str, float]:
    """p50 and p99 in ms of ``n`` sequential requests on one connection (after 200 warm-up requests)."""
    c = Connection(port, path, key)
    await c.open()
    for _ in range(200):
        await c.one()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        status = await c.one()
        times.append((time.perf_counter() - start) * 1000)
        if status != 200:
            raise RuntimeError(f"HTTP {status} from port {port}")
    await c.close()
    times.sort()
    return {"p50_ms": statistics.median(times), "p99_ms": times[int(len(times) * 0.99) - 1]}


async def load(port: int, path: str, key: str | None, *, total: int, concurrency: int) -> float:
    """Send ``total`` requests with ``concurrency`` connections; returns the seconds it took."""
    connections = [Connection(port, path, key) for _ in range(concurrency)]
    await asyncio.gather(*(c.open() for c in connections))
    left = total

    async def worker(c: Connection) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await c.one()

    start = time.perf_counter()
    await asyncio.gather(*(worker(c) for c in connections))
    elapsed = time.perf_counter() - start
    await asyncio.gather(*(c.close() for c in connections))
    return elapsed


# -- the proxies ---------------------------------------------------------------------------------------
@contextlib.contextmanager
def our_proxy(upstream_url: str, tmp: Path) -> Iterator[tuple[int, int, str]]:
    """``liter-llm serve`` with one worker; yields (port, pid, a virtual key)."""
    port = free_port()
    config = tmp / "liter-llm.toml"
    config.write_text(
        f'base_url = "{upstream_url}/v1"\napi_key = "sk-upstream"\n\n'
        f'[plugins.proxy]\ndatabase_url = "sqlite+aiosqlite:///{tmp}/bench.db"\n'
    )
    args = [sys.executable, "-m", "liter_llm.cli", "serve", "--config", str(config), "--port", str(port)]
    with process(args, {"LITER_LLM_MASTER_KEY": MASTER}, tmp / "ours.log") as proc:
        wait_http(f"http://127.0.0.1:{port}/health", proc, 60)
        created = httpx.post(
            f"http://127.0.0.1:{port}/admin/keys",
            headers={"authorization": f"Bearer {MASTER}"},
            json={"name": "bench", "models": ["gpt-4o-mini"]},
        )
        created.raise_for_status()
        yield port, proc.pid, created.json()["key"]


@contextlib.contextmanager
def litellm_proxy(python: str, upstream_url: str, tmp: Path) -> Iterator[tuple[int, int, str]]:
    """litellm's proxy with one worker and a master key (no database); yields (port, pid, key)."""
    port = free_port()
    config = tmp / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: gpt-4o-mini\n"
        "    litellm_params:\n"
        "      model: openai/gpt-4o-mini\n"
        f"      api_base: {upstream_url}/v1\n"
        "      api_key: sk-upstream\n"
        "general_settings:\n"
        f"  master_key: {MASTER}\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
    )
    litellm = str(Path(python).parent / "litellm")
    env = {"LITELLM_LOG": "ERROR", "LITELLM_TELEMETRY": "False", "DISABLE_ADMIN_UI": "True"}
    args = [litellm, "--config", str(config), "--port", str(port), "--host", "127.0.0.1", "--num_workers", "1"]
    with process(args, env, tmp / "litellm.log") as proc:
        wait_http(f"http://127.0.0.1:{port}/health/liveliness", proc, 180)
        yield port, proc.pid, MASTER


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000, help="requests for the memory run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each throughput run")
    parser.add_argument("--latency-requests", type=int, default=2000)
    parser.add_argument("--litellm-python", default=str(ROOT / ".bench" / "litellm-venv" / "bin" / "python"))
    parser.add_argument("--out", default=str(ROOT / ".bench" / "proxy_results.json"))
    args = parser.parse_args()
    results: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "concurrency": 64,
    }
    with tempfile.TemporaryDirectory() as tmp_name, upstream() as up:
        tmp = Path(tmp_name)
        up_port = int(up.rsplit(":", 1)[1])
        direct_latency = asyncio.run(latency(up_port, "/v1/chat/completions", None, n=args.latency_requests))
        direct_rps = asyncio.run(
            throughput(up_port, "/v1/chat/completions", None, concurrency=64, seconds=args.seconds)
        )
        results["direct"] = {**direct_latency, **direct_rps}
        print(f"direct: {results['direct']}", flush=True)

        with our_proxy(up, tmp) as (port, pid, key):
            ours: dict[str, Any] = {"rss_mb_start": rss_mb(pid)}
            ours.update(asyncio.run(latency(port, "/v1/chat/completions", key, n=args.latency_requests)))
            ours.update(
                asyncio.run(throughput(port, "/v1/chat/completions", key, concurrency=64, seconds=args.seconds))
            )
            # memory: warm-up, then the rest of the requests, sampled along the way
            warm = min(10_000, args.requests)
            elapsed = asyncio.run(load(port, "/v1/chat/completions", key, total=warm, concurrency=64))
            ours["rss_mb_after_warmup"] = rss_mb(pid)
            rate = warm / elapsed
            total = args.requests
            if (total - warm) / rate > 300:  # keep the run bounded (about 5 minutes)
                total = warm + int(rate * 300)
                ours["memory_requests_capped"] = True
            samples = []
            step = max(1, (total - warm) // 4)
            sent = warm
            while sent < total:
                batch = min(step, total - sent)
                asyncio.run(load(port, "/v1/chat/completions", key, total=batch, concurrency=64))
                sent += batch
                samples.append((sent, rss_mb(pid)))
            ours["memory_requests"] = sent
            ours["rss_mb_samples"] = samples
            ours["rss_mb_end"] = rss_mb(pid)
            results["ours"] = ours
            print(f"ours: {ours}", flush=True)

        if Path(args.litellm_python).exists():
            try:
                with litellm_proxy(args.litellm_python, up, tmp) as (port, pid, key):
                    theirs: dict[str, Any] = {"rss_mb_start": rss_mb(pid)}
                    theirs.update(asyncio.run(latency(port, "/v1/chat/completions", key, n=args.latency_requests)))
                    theirs.update(
                        asyncio.run(throughput(port, "/v1/chat/completions", key, concurrency=64, seconds=args.seconds))
                    )
                    theirs["rss_mb_end"] = rss_mb(pid)
                    results["litellm"] = theirs
                    version = subprocess.run(
                        [args.litellm_python, "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
                        capture_output=True,
                        text=True,
                        check=False,
                    ).stdout.strip()
                    results["litellm"]["version"] = version
            except Exception as exc:
                results["litellm"] = {"error": f"{type(exc).__name__}: {exc}"}
        else:
            results["litellm"] = {"error": f"not installed ({args.litellm_python} does not exist)"}
        print(f"litellm: {results['litellm']}", flush=True)

    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    print(table(results))
    return 0


def table(r: dict[str, Any]) -> str:
    d, o, lt = r["direct"], r["ours"], r.get("litellm", {})
    rows = [
        "| | req/s at concurrency 64 | p50 ms | p99 ms | added p50 ms | added p99 ms | RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        f"| upstream directly | {d['rps']:.0f} | {d['p50_ms']:.3f} | {d['p99_ms']:.3f} | | | |",
        f"| liter-llm proxy | {o['rps']:.0f} | {o['p50_ms']:.3f} | {o['p99_ms']:.3f} | "
        f"{o['p50_ms'] - d['p50_ms']:.3f} | {o['p99_ms'] - d['p99_ms']:.3f} | "
        f"{o['rss_mb_after_warmup']:.0f} after warm-up, {o['rss_mb_end']:.0f} after {o['memory_requests']:,} |",
    ]
    if "rps" in lt:
        rows.append(
            f"| litellm proxy {lt.get('version', '')} | {lt['rps']:.0f} | {lt['p50_ms']:.3f} | {lt['p99_ms']:.3f} | "
            f"{lt['p50_ms'] - d['p50_ms']:.3f} | {lt['p99_ms'] - d['p99_ms']:.3f} | {lt['rss_mb_end']:.0f} |"
        )
        rows.append(f"\nthroughput ratio (ours / litellm's): {o['rps'] / lt['rps']:.1f}x")
    else:
        rows.append(f"| litellm proxy | {lt.get('error', 'not measured')} | | | | | |")
    return "\n".join(rows)


if __name__ == "__main__":
    sys.exit(main())
