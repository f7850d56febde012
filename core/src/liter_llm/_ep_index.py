"""The entry points of liter-llm's groups, remembered between processes.

Finding the installed plugins means listing every distribution on ``sys.path`` and reading the
``entry_points.txt`` of each (and importing :mod:`importlib.metadata` to do it): about 15 ms of a
process's first client.  The answer only changes when a distribution is installed or removed, so
the first process writes it to an index file and the next ones read it back after checking that
nothing it was built from has changed:

- the interpreter and its ``sys.path`` (in order; and the working directory when an entry is
  relative to it) name the file;
- each ``sys.path`` entry's identity and modification time (installing or removing a distribution
  adds or removes a folder in it, which changes its time), recorded before the scan;
- each ``entry_points.txt`` the index holds entries from (an edit in place changes its time).

Anything else (a missing, unreadable, foreign or malformed file, a changed time, a finder on
``sys.meta_path`` other than the standard one that lists distributions) means a fresh scan, exactly
what :func:`liter_llm._plugins.liter_entry_points` gives.  A scan is only written down when no time
it depends on is within the last two seconds (a change in the same tick as the scan would otherwise
go unseen on a file system with coarse times) and nothing changed while it ran.

The file lives in ``$LITER_LLM_CACHE_DIR`` (default ``$XDG_CACHE_HOME/liter-llm``, else
``~/.cache/liter-llm``), is written atomically, and is read only when the current user owns it and
no one else may write it.  ``LITER_LLM_PLUGIN_INDEX=0`` turns the index off.  A failure to read or
write it is never an error: discovery then scans, as without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from importlib import import_module
from typing import Any

from liter_llm._cache_files import CACHE_DIR_ENV, cache_dir, read_trusted, write_atomic

__all__ = ["CACHE_DIR_ENV", "INDEX_ENV", "MAX_INDEXES", "EntryPoints", "IndexedEntryPoint", "entry_points"]

INDEX_ENV = "LITER_LLM_PLUGIN_INDEX"
_FORMAT = 1
#: a time this close to now (seconds) may hide a change made in the same tick: not written down
_RACY_SECS = 2.0
#: index files kept in the cache folder: each interpreter, ``sys.path`` and directory has its own
MAX_INDEXES = 64
#: ``module:attr.attr [extra]``, as importlib.metadata reads an entry point's value (compiled, by ``re``'s
#: own cache, only for a value :func:`split_value` cannot read without it)
_VALUE = r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?((?P<extras>\[.*\])\s*)?$"


def _dotted(name: str) -> bool:
    """Whether ``name`` is ASCII dotted identifiers (``pkg.mod``): ``[\\w.]+`` holds for it."""
    return name.isascii() and name.replace(".", "_").isidentifier()


def split_value(value: str) -> tuple[str, str]:
    """An entry point's value as its module and its attribute path (``""`` for none), as ``_VALUE`` reads it.

    The usual value (``module`` or ``module:attr.attr``, ASCII, no spaces, no extras) is split without
    a regular expression; anything else goes through ``_VALUE``.  ``ValueError`` for a value that is
    not one.
    """
    module, colon, attr = value.partition(":")
    if _dotted(module) and (not colon or _dotted(attr)):
        return module, attr
    match = re.match(_VALUE, value)
    if match is None:
        raise ValueError(f"not an entry point value: {value!r}")
    return match.group("module"), match.group("attr") or ""


class IndexedDist:
    """The distribution an indexed entry point comes from: its name and version, read at indexing."""

    __slots__ = ("name", "version")

    def __init__(self, name: str | None, version: str | None) -> None:
        self.name, self.version = name, version

    def __repr__(self) -> str:
        return f"IndexedDist({self.name!r}, {self.version!r})"


class IndexedEntryPoint:
    """An entry point read back from the index: what the registry uses of ``importlib.metadata.EntryPoint``."""

    __slots__ = ("dist", "group", "name", "value")

    def __init__(self, name: str, value: str, group: str, dist: IndexedDist) -> None:
        self.name, self.value, self.group, self.dist = name, value, group, dist

    def load(self) -> Any:
        """Import the entry point's module and return the object it names (as ``EntryPoint.load``)."""
        module, attr = split_value(self.value)
        found: Any = import_module(module)
        for part in filter(None, attr.split(".")):
            found = getattr(found, part)
        return found

    def __repr__(self) -> str:
        return f"IndexedEntryPoint(name={self.name!r}, value={self.value!r}, group={self.group!r})"


class EntryPoints(tuple[Any, ...]):
    """A tuple of entry points with ``select(group=...)``, as ``importlib.metadata.EntryPoints``."""

    __slots__ = ()

    def select(self, *, group: str) -> EntryPoints:
        """The entry points of ``group``, in order."""
        return EntryPoints(ep for ep in self if ep.group == group)


def _stamp(path: str) -> list[int] | None:
    """``[device, inode, mtime_ns]`` of ``path``, or ``None`` when it does not exist."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_mtime_ns]


def _index_path() -> str:
    """The index file of this interpreter and ``sys.path`` (and working directory, when an entry is relative to it)."""
    relative = any(not os.path.isabs(entry) for entry in sys.path)  # "" and relative entries: the working directory
    key = json.dumps([_FORMAT, sys.executable, sys.version, os.getcwd() if relative else None, sys.path])
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return os.path.join(cache_dir(), f"plugin-index-{digest}.json")


def _standard_finders_only() -> bool:
    """Whether the only finder on ``sys.meta_path`` that lists distributions is the standard path finder."""
    from importlib.machinery import PathFinder

    return all(finder is PathFinder or not hasattr(finder, "find_distributions") for finder in sys.meta_path)


def _path_stamps() -> list[list[int] | None]:
    return [_stamp(entry or os.curdir) for entry in sys.path]


def _read(path: str) -> dict[str, Any] | None:
    """The index at ``path`` if it is ours to trust and well formed, else ``None``."""
    raw = read_trusted(path, 4 * 1024 * 1024)
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    return data if isinstance(data, dict) and data.get("format") == _FORMAT else None


def _rows_of(data: dict[str, Any], stamps: list[list[int] | None]) -> list[list[Any]] | None:
    """The index's rows when everything it was built from is unchanged, else ``None``."""
    if data.get("paths") != stamps:
        return None
    files, rows = data.get("files"), data.get("rows")
    if not isinstance(files, list) or not isinstance(rows, list):
        return None
    for item in files:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            return None
        if _stamp(item[0]) != item[1]:
            return None
    for row in rows:
        if not (isinstance(row, list) and len(row) == 6 and all(isinstance(v, str) for v in row[:4])):
            return None
        if not all(v is None or isinstance(v, str) for v in row[4:]):
            return None
    return rows


def _from_rows(rows: Iterable[list[Any]]) -> EntryPoints:
    dists: dict[tuple[str, str | None, str | None], IndexedDist] = {}
    found = []
    for dist_key, group, name, value, dist_name, dist_version in rows:
        dist = dists.setdefault((dist_key, dist_name, dist_version), IndexedDist(dist_name, dist_version))
        found.append(IndexedEntryPoint(name, value, group, dist))
    return EntryPoints(found)


def _dist_file(dist: Any) -> str | None:
    """The ``entry_points.txt`` of a distribution on disk (``None`` for one that is not a folder)."""
    folder = getattr(dist, "_path", None)
    if folder is None:
        return None
    path = os.path.join(str(folder), "entry_points.txt")
    return path if os.path.isfile(path) else None


def _to_rows(eps: Iterable[Any]) -> tuple[list[list[Any]], list[list[Any]]] | None:
    """Rows and watched files for scanned entry points; ``None`` when one cannot be indexed."""
    rows: list[list[Any]] = []
    files: dict[str, Any] = {}
    known: dict[int, tuple[str, str | None, str | None]] = {}
    for ep in eps:
        dist = ep.dist
        if dist is None:
            return None
        if id(dist) not in known:
            file = _dist_file(dist)
            if file is None:
                return None  # a distribution in a zip or from another finder: not indexed
            files[file] = _stamp(file)
            known[id(dist)] = (file, dist.name, dist.version)  # reads METADATA: once, at indexing only
        file, dist_name, dist_version = known[id(dist)]
        rows.append([file, ep.group, ep.name, ep.value, dist_name, dist_version])
    return rows, [[file, stamp] for file, stamp in files.items()]


def _racy(stamps: Iterable[list[int] | None], now_ns: int) -> bool:
    return any(s is not None and now_ns - s[2] < _RACY_SECS * 1e9 for s in stamps)


def _write(path: str, data: dict[str, Any]) -> None:
    text = json.dumps(data, separators=(",", ":")).encode("utf-8", "surrogatepass")
    if write_atomic(path, text, prefix=".plugin-index-"):
        try:
            _prune(os.path.dirname(path), keep=path)
        except OSError:
            pass  # a folder that cannot be listed: the next write prunes it


def _prune(folder: str, keep: str) -> None:
    """Keep the newest :data:`MAX_INDEXES` index files of ``folder`` (one per interpreter, path and directory)."""
    names = [n for n in os.listdir(folder) if n.startswith("plugin-index-") and n.endswith(".json")]
    if len(names) <= MAX_INDEXES:
        return
    dated = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            dated.append((os.stat(path).st_mtime_ns, path))
        except OSError:
            continue
    dated.sort(reverse=True)
    for _, path in dated[MAX_INDEXES:]:
        if path != keep:
            try:
                os.unlink(path)
            except OSError:
                pass


def entry_points(scan: Callable[[], Any]) -> Any:
    """The entry points of liter-llm's groups: from the index when it is current, else ``scan()`` (written down).

    ``scan`` is :func:`liter_llm._plugins.liter_entry_points`; what this returns has the same entry
    points (name, group, value, distribution name and version, which share a distribution) in the
    same order.  Whatever goes wrong with the index (an odd ``sys.path`` entry, a deleted working
    directory, a file system error) means ``scan()``; only the scan's own errors come out.
    """
    if os.environ.get(INDEX_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return scan()
    try:
        if not _standard_finders_only():
            return scan()
        path = _index_path()
        stamps = _path_stamps()
        data = _read(path)
        if data is not None:
            rows = _rows_of(data, stamps)
            if rows is not None:
                return _from_rows(rows)
    except Exception:  # the index is an optimisation: never a reason for discovery to fail
        return scan()
    found = scan()
    try:
        indexed = _to_rows(found)
        if indexed is not None:
            rows, files = indexed
            watched = [*stamps, *(stamp for _, stamp in files)]
            if not _racy(watched, time.time_ns()) and _path_stamps() == stamps:
                _write(path, {"format": _FORMAT, "paths": stamps, "files": files, "rows": rows})
    except Exception:  # as above: the scan's answer stands
        pass
    return found
