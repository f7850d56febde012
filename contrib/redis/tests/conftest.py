"""A real redis-server on a free port of 127.0.0.1 for the tests (skipped, saying why, when none is installed)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # redis_test_support

from redis_test_support import REDIS_SERVER, RedisServer, free_port

__all__ = ["REDIS_SERVER", "RedisServer", "free_port"]


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer().start()
    yield server
    server.kill()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The session's Redis, emptied for each test."""
    with redis_server.client() as client:
        client.flushall()
    return redis_server.url


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A Redis of the test's own, to kill, restart and pause."""
    server = RedisServer().start()
    yield server
    server.kill()
