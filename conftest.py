"""Settings shared by every test folder of the workspace.

Hypothesis runs derandomised (the same examples on every run, so a failure
reproduces and CI never fails on an example it did not try before), without a
per-example deadline and without the too-slow health check: on a loaded 2-core
machine both only measure the machine.  ``HYPOTHESIS_PROFILE=explore`` runs
random examples instead, for looking for new failures by hand.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "explore", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True, database=None
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# llama.cpp's worker threads wait for each other by spinning: two test runs side by side on a
# 2-core machine, each decoding on both cores, once held a 12-token stream past its 120 s timeout.
# One decode thread per test process (and its children) keeps the local model's tests independent
# of what else the machine runs; the default (every available CPU) is tested in the local plugin.
os.environ.setdefault("LITER_LLM_LOCAL_THREADS", "1")

# The plugin index (liter_llm._ep_index) of this run's processes goes to a folder of its own, not to
# the user's cache: every run starts without one, writes it on its first discovery and reads it back.
if "LITER_LLM_CACHE_DIR" not in os.environ:
    import atexit
    import shutil
    import tempfile

    os.environ["LITER_LLM_CACHE_DIR"] = tempfile.mkdtemp(prefix="liter-llm-test-cache-")
    atexit.register(shutil.rmtree, os.environ["LITER_LLM_CACHE_DIR"], True)


# -- nothing in a test reaches any address but this machine's loopback ----------------------------

import ipaddress  # noqa: E402
import socket  # noqa: E402

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}


def _is_local(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").lower()
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _guarded_address(address: object) -> None:
    if isinstance(address, tuple) and address and not _is_local(address[0]):
        raise OSError(f"test network guard: a test tried to reach {address[0]!r}; only loopback is allowed")


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
_getaddrinfo = socket.getaddrinfo


def _guarded_connect(self: socket.socket, address: object) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _guarded_address(address)
    return _connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _guarded_address(address)
    return _connect_ex(self, address)  # type: ignore[arg-type]


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    if host is not None and not _is_local(host):
        raise socket.gaierror(socket.EAI_NONAME, f"test network guard: no lookups of {host!r} in tests")
    return _getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
