"""The compiled code of the generated parsers and attrs methods, kept between processes.

``liter_llm._serde`` writes the Python source of each answer type's parser (and each request
type's serialiser) the first time a process needs it, and compiles it: compiling was about a
tenth of a process's first call (28 M of 293 M instructions for the first chat's parsers, measured
in docs/performance.md, "Sixth pass"); :mod:`liter_llm._attrs_code` does the same for the methods
attrs generates for the core's classes ("Eighth pass").  The source only changes when the types
or the generator do, so the code objects are kept in one file of the cache folder (see
:mod:`liter_llm._cache_files`), one per interpreter (its version and build) and ``-O`` level, and
the next process loads them with :mod:`marshal` instead of compiling.

An entry's key is the SHA-256 of its file name and source: a changed generator or type makes a
new source and so a new entry, never a stale answer.  The file is trusted only as the cache
folder's files are (a regular file of the current user that no one else may write: it is code, as
``__pycache__`` is); anything unreadable, foreign, malformed or of another shape is ignored, and
the code compiled as without it.  It keeps at most :data:`MAX_ENTRIES` entries, the newest.
``LITER_LLM_CODE_CACHE=0`` turns it off; with ``PYTHONDONTWRITEBYTECODE`` (``sys.dont_write_bytecode``)
it is read but never written, as Python's own bytecode cache is.  It is read when the first of the
core's attrs classes is made (importing :mod:`liter_llm.types`, say; never by ``import
liter_llm``) or the first parser is generated, and written (merged with what other processes wrote
meanwhile) each time a process compiles a parser it did not find, with the attrs methods compiled
since: about a dozen times in the first process of an installation, for a chat's parsers, and not
again while the sources stay the same.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import threading
import types

from liter_llm._cache_files import cache_dir, read_trusted, write_atomic

__all__ = ["CODE_CACHE_ENV", "MAX_ENTRIES", "compile_cached"]

CODE_CACHE_ENV = "LITER_LLM_CODE_CACHE"
#: entries kept in the file (the generated code of every type of every endpoint is about 200)
MAX_ENTRIES = 2048
_MAX_BYTES = 16 * 1024 * 1024
_FORMAT = 1

_lock = threading.Lock()
_codes: dict[str, types.CodeType] | None = None
#: whether this process compiled with ``persist=False`` since it last wrote the file
_pending = False
#: this process's counts, for the tests: entries loaded from the file, compiled here, written
stats = {"loaded": 0, "compiled": 0, "written": 0}


def _enabled() -> bool:
    return os.environ.get(CODE_CACHE_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def _path() -> str:
    build = hashlib.sha256(sys.version.encode()).hexdigest()[:12]  # the interpreter's version and build
    tag = f"{sys.implementation.cache_tag}-{build}-o{sys.flags.optimize}"
    return os.path.join(cache_dir(), f"generated-code-{tag}.marshal")


def _load(path: str) -> dict[str, types.CodeType]:
    """The entries of the file at ``path``, or none when it is absent, not ours to trust or not of our shape."""
    raw = read_trusted(path, _MAX_BYTES)
    if raw is None:
        return {}
    try:
        data = marshal.loads(raw)
    except Exception:  # EOFError, ValueError, TypeError for a damaged file; a cache is never a reason to fail
        return {}
    if not (isinstance(data, tuple) and len(data) == 2 and data[0] == _FORMAT and isinstance(data[1], dict)):
        return {}
    entries = data[1]
    if not all(isinstance(k, str) and isinstance(v, types.CodeType) for k, v in entries.items()):
        return {}
    return entries


def _key(source: str, filename: str) -> str:
    return hashlib.sha256(f"{filename}\0{source}".encode("utf-8", "surrogatepass")).hexdigest()


def compile_cached(source: str, filename: str, *, persist: bool = True) -> types.CodeType:
    r"""``compile(source, filename, "exec")``, from the cache file when an earlier process compiled the same.

    With ``persist=False`` a function this process compiles is not written at once but by the next
    ``compile_cached`` with ``persist=True`` (found or compiled): the attrs classes' methods,
    compiled at import, ride with the first call's parsers.
    """
    global _codes, _pending
    if not _enabled():
        return compile(source, filename, "exec")
    key = _key(source, filename)
    with _lock:
        if _codes is None:
            _codes = _load(_path())
            stats["loaded"] += len(_codes)
        code = _codes.get(key)
        if code is not None and code.co_filename == filename:
            if persist and _pending:
                _write()
            return code
    code = compile(source, filename, "exec")
    with _lock:
        stats["compiled"] += 1
        _codes[key] = code
        if persist:
            _write()
        else:
            _pending = True
    return code


def _write() -> None:
    """Write this process's entries over the file's (called with the lock held)."""
    global _pending
    _pending = False
    if sys.dont_write_bytecode or _codes is None:
        return
    path = _path()
    merged = {**_load(path), **_codes}  # what other processes wrote since, then ours (the newest last)
    kept = dict(list(merged.items())[-MAX_ENTRIES:])
    if write_atomic(path, marshal.dumps((_FORMAT, kept)), prefix=".generated-code-"):
        stats["written"] += 1
