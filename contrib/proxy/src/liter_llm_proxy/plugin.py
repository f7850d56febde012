"""The ``liter_llm`` entry point of the proxy: it adds ``liter-llm serve`` (and imports nothing heavy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import liter_llm

if TYPE_CHECKING:  # the hook is given the parser: argparse is imported by the command line, not with the plugin
    import argparse

__all__ = ["register_commands"]


@liter_llm.hookimpl
def register_commands(subparsers: argparse._SubParsersAction[Any]) -> None:
    """Add ``liter-llm serve``: run the OpenAI-compatible proxy server."""
    parser = subparsers.add_parser(
        "serve",
        help="run the OpenAI-compatible proxy server (liter-llm-proxy)",
        description="Serve OpenAI's HTTP API in front of liter-llm's client, with virtual keys and spend logs.",
    )
    parser.add_argument("--config", help="liter-llm.toml to read (default: LITER_LLM_CONFIG, or found upwards)")
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=4000, help="the port to listen on (default 4000)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument("--log-level", default="warning", help="uvicorn's log level (default warning)")
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    from liter_llm_proxy.serve import serve

    return serve(config=args.config, host=args.host, port=args.port, workers=args.workers, log_level=args.log_level)
