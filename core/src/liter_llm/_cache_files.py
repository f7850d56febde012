"""The files liter-llm keeps between processes: where they live, how one is trusted, how one is written.

The folder is ``$LITER_LLM_CACHE_DIR`` (default ``$XDG_CACHE_HOME/liter-llm``, else
``~/.cache/liter-llm``), made with mode 0700.  A file in it is read only when it is a regular
file (not followed through a symbolic link) within its size limit, owned by the current user and
writable by no one else: what it says decides which modules are imported (the plugin index) and
which code runs (the generated parsers' code), so it must be as much the user's own as their
``__pycache__``.  A file is written to a temporary name and renamed into place, so a reader sees
the old file or the new one, never half of one.  Nothing here raises: a cache that cannot be read
or written only means the work is done again.
"""

from __future__ import annotations

import os
import stat
import tempfile

__all__ = ["CACHE_DIR_ENV", "cache_dir", "read_trusted", "write_atomic"]

CACHE_DIR_ENV = "LITER_LLM_CACHE_DIR"


def cache_dir() -> str:
    """The folder of liter-llm's cache files (it may not exist yet)."""
    configured = os.environ.get(CACHE_DIR_ENV)
    if configured:
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "liter-llm")


def read_trusted(path: str, limit: int) -> bytes | None:
    """The bytes of ``path`` if it is ours to trust (see the module docstring) and at most ``limit`` long."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
            return None
        if hasattr(os, "getuid") and (st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            return None
        with os.fdopen(fd, "rb") as handle:
            fd = -1
            data = handle.read(limit + 1)
    except OSError:
        return None
    finally:
        if fd >= 0:
            os.close(fd)
    return data if len(data) <= limit else None


def write_atomic(path: str, data: bytes, prefix: str) -> bool:
    """Write ``data`` to ``path`` through a temporary file of ``prefix`` in the same folder; whether it was written."""
    folder = os.path.dirname(path)
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=prefix, dir=folder)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise
    except OSError:
        return False  # a read-only or full disk: the work is done again next time
    return True
