"""Client CPU per streamed chunk with and without liter-llm-otel, against raw httpx, in one run.

Run: ``.venv/bin/python scripts/otel_chunk_cost.py [--streams N] [--repeats N]``.

It starts ``bench/server.py`` (the benchmark's canned OpenAI-compatible server, 100 chunks per
stream, 127.0.0.1 only) and measures, interleaved and best of ``--repeats``, the CPU time
(user+sys of this process) per chunk of:

- raw httpx: ``stream`` + ``iter_lines`` + ``json.loads`` per data line (the bench's baseline);
- liter-llm with the otel plugin installed but not asked for (no ``tracing``);
- liter-llm with tracing on: the real OpenTelemetry SDK's tracer and meter providers (an
  in-memory span exporter, cleared between runs, and an in-memory metric reader).

The sync client by default, the async one with ``--async``.  Prints one line per measure and the
ratios to raw httpx (the bench's target for a chunk is 1.5x).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import run as bench  # noqa: E402  (bench/run.py: its server, measuring and raw bodies)


def _otel() -> tuple[Any, Any, Any]:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    return exporter, tracer_provider, meter_provider


def sync_costs(url: str, streams: int, repeats: int) -> dict[str, float]:
    import liter_llm

    exporter, tracer_provider, meter_provider = _otel()
    traced = {"otel": {"tracer_provider": tracer_provider, "meter_provider": meter_provider}}
    runs: dict[str, list[dict[str, float]]] = {"raw": [], "ours": [], "ours_otel": []}
    with (
        httpx.Client() as http,
        liter_llm.create_client(api_key="bench", base_url=url) as plain,
        liter_llm.create_client(api_key="bench", base_url=url, plugins=traced) as otel,
    ):
        bench.raw_stream_sync(http, url, 2)  # warm up
        bench.ours_stream_sync(plain, 2)
        bench.ours_stream_sync(otel, 2)
        for _ in range(repeats):
            runs["raw"].append(bench.measure(lambda: bench.raw_stream_sync(http, url, streams)))
            runs["ours"].append(bench.measure(lambda: bench.ours_stream_sync(plain, streams)))
            runs["ours_otel"].append(bench.measure(lambda: bench.ours_stream_sync(otel, streams)))
            assert len(exporter.get_finished_spans()) >= streams  # the traced client did trace
            exporter.clear()
    return {name: bench.best(values)["cpu_us"] for name, values in runs.items()}


async def async_costs(url: str, streams: int, repeats: int) -> dict[str, float]:
    import liter_llm

    exporter, tracer_provider, meter_provider = _otel()
    traced = {"otel": {"tracer_provider": tracer_provider, "meter_provider": meter_provider}}
    runs: dict[str, list[dict[str, float]]] = {"raw": [], "ours": [], "ours_otel": []}

    async with (
        httpx.AsyncClient() as http,
        liter_llm.create_async_client(api_key="bench", base_url=url) as plain,
        liter_llm.create_async_client(api_key="bench", base_url=url, plugins=traced) as otel,
    ):
        await bench.raw_stream_async(http, url, 2)
        await bench.ours_stream_async(plain, 2)
        await bench.ours_stream_async(otel, 2)
        for _ in range(repeats):
            for name, body in (
                ("raw", lambda: bench.raw_stream_async(http, url, streams)),
                ("ours", lambda: bench.ours_stream_async(plain, streams)),
                ("ours_otel", lambda: bench.ours_stream_async(otel, streams)),
            ):
                gc.collect()
                cpu0 = bench.cpu_seconds()
                units = await body()
                runs[name].append({"cpu_us": (bench.cpu_seconds() - cpu0) / units * 1e6, "rate": 0.0, "units": units})
            exporter.clear()
    return {name: bench.best(values)["cpu_us"] for name, values in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=bench.N_STREAMS, help="streams per measure (100 chunks each)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved repeats; the lowest CPU counts")
    parser.add_argument("--async", dest="is_async", action="store_true", help="measure the async client")
    args = parser.parse_args()
    bench.pin(0)
    with bench.server() as url:
        if args.is_async:
            costs = asyncio.run(async_costs(url, args.streams, args.repeats))
        else:
            costs = sync_costs(url, args.streams, args.repeats)
    raw = costs["raw"]
    client = "async" if args.is_async else "sync"
    print(f"CPU per stream chunk ({client} client, us; best of {args.repeats} x {args.streams} streams of 100 chunks)")
    print(f"  raw httpx                         {raw:8.1f}")
    print(f"  liter-llm (otel installed, off)   {costs['ours']:8.1f}  {costs['ours'] / raw:.2f}x raw")
    print(f"  liter-llm with otel tracing on    {costs['ours_otel']:8.1f}  {costs['ours_otel'] / raw:.2f}x raw")
    print(f"  the plugin's own cost per chunk   {costs['ours_otel'] - costs['ours']:8.1f}")


if __name__ == "__main__":
    main()
