"""Run the proxy with uvicorn: ``liter-llm serve`` and :func:`serve`."""

from __future__ import annotations

import os
from pathlib import Path

from liter_llm.config import find_config_file
from liter_llm.errors import BadRequestError
from liter_llm_proxy.app import CONFIG_ENV
from liter_llm_proxy.settings import load_settings

__all__ = ["serve"]


def serve(
    *,
    config: str | None = None,
    host: str = "127.0.0.1",
    port: int = 4000,
    workers: int = 1,
    log_level: str = "warning",
) -> int:
    """Serve the proxy until SIGINT/SIGTERM, then shut down gracefully (requests and streams in flight finish).

    The configuration is validated here first, so a bad file is one error line, not a worker crash;
    each worker then reads the same file (its path is passed in ``LITER_LLM_CONFIG``).

    Raises:
        BadRequestError: an invalid configuration or option.
    """
    import uvicorn

    if workers < 1:
        raise BadRequestError("--workers: must be at least 1")
    if not 0 < port < 65536:
        raise BadRequestError("--port: must be from 1 to 65535")
    path = Path(config).resolve() if config else find_config_file()
    if config and not Path(config).is_file():
        raise BadRequestError(f"--config: {config!r} is not a file")
    _, settings = load_settings(path)
    if path is not None:
        os.environ[CONFIG_ENV] = str(path)
    uvicorn.run(
        "liter_llm_proxy.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_grace_secs) or None,
        server_header=False,
    )
    return 0
