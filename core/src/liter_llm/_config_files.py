"""Where a configuration comes from: ``${VAR}`` expansion, JSON and TOML documents, and the file to use.

Every string may refer to the environment as ``${VAR}`` or ``${VAR:-default}`` (the default when
``VAR`` is unset or empty; ``$${`` is a literal ``${``), expanded before validation (:func:`expand`).
:func:`find_config_file` looks for the file named by ``LITER_LLM_CONFIG``, else for
``liter-llm.toml`` in the working directory and its parents.  Every document goes to
:func:`liter_llm.config.parse_config`; the public names are re-exported by :mod:`liter_llm.config`.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from liter_llm._config_rules import FieldPath, Invalid, type_name
from liter_llm.errors import BadRequestError

if TYPE_CHECKING:
    from liter_llm.config import ClientConfig

#: The environment variable naming a configuration file explicitly.
CONFIG_ENV_VAR = "LITER_LLM_CONFIG"
#: The file name searched for in the working directory and its parents.
CONFIG_FILE_NAME = "liter-llm.toml"


#: patterns of paths a chat does not take are compiled on first use (by ``re``'s own cache), not at import
_REFERENCE = r"\$\$\{|\$\{([^}]*)(\})?"
_VAR_NAME = r"[A-Za-z_][A-Za-z0-9_]*"


def expand(value: Any, path: FieldPath, env: Mapping[str, str]) -> Any:
    """``value`` with every ``${VAR}`` in its strings replaced; an :class:`Invalid` names the field."""
    if isinstance(value, Mapping):
        return {key: expand(item, (*path, str(key)), env) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [expand(item, (*path, index), env) for index, item in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, sep, default = (match.group(1) or "").partition(":-")
        if match.group(0) == "$${":
            return "${"
        if match.group(2) is None:
            raise Invalid("unterminated '${' (write '$${' for a literal '${')", path)
        if not re.fullmatch(_VAR_NAME, name):
            raise Invalid("invalid environment variable reference: expected ${NAME} or ${NAME:-default}", path)
        found = env.get(name)
        if found is not None and not (sep and found == ""):
            return found
        if not sep:
            raise Invalid(f"environment variable {name} is not set (use ${{{name}:-default}} to give a default)", path)
        return default

    return re.sub(_REFERENCE, substitute, value)


def _load(text: str | bytes, source: str, env: Mapping[str, str] | None, decode: Callable[[str], Any]) -> ClientConfig:
    """Decode a document (UTF-8, a BOM allowed) with ``decode`` and parse it; ``decode`` raises ``Invalid``."""
    if not isinstance(text, (str, bytes, bytearray)):
        raise BadRequestError(f"{source}: expected text or bytes, got {type_name(text)}")
    try:
        decoded = text.removeprefix("\ufeff") if isinstance(text, str) else bytes(text).decode("utf-8-sig")
        data = decode(decoded)
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"{source}: not valid UTF-8 (at byte {exc.start})") from None
    except Invalid as exc:
        raise BadRequestError(f"{source}: {exc.problem}") from None
    from liter_llm.config import parse_config

    return parse_config(data, source=source, env=env)


def _json(text: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        table: dict[str, Any] = {}
        for key, value in items:
            if key in table:
                raise Invalid(f"duplicate key {key!r} in a JSON object")
            table[key] = value
        return table

    def constant(name: str) -> NoReturn:
        raise Invalid(f"invalid JSON: {name} is not allowed")

    try:
        data = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise Invalid(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise Invalid("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # a big integer's digit limit, say
        raise exc if isinstance(exc, Invalid) else Invalid(f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid(f"the top level must be a JSON object, got {type_name(data)}")
    return data


def _toml(text: str) -> Any:
    # imported here: a client configured without a TOML file never pays the parser's import
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:  # the parser's message names the line and column, never the content
        raise Invalid(f"invalid TOML: {exc}") from None
    except RecursionError:
        raise Invalid("invalid TOML: nested too deeply") from None


def load_config_json(
    text: str | bytes, *, source: str = "JSON config", env: Mapping[str, str] | None = None
) -> ClientConfig:
    """Parse a JSON configuration document (the argument of ``create_client_from_json``).

    One JSON object with the fields of :func:`parse_config`; ``NaN``/``Infinity`` and duplicate keys are refused.

    Raises:
        BadRequestError: invalid UTF-8, invalid JSON (with the line and column), a top level that is
            not an object, or invalid content.
    """
    return _load(text, source, env, _json)


def load_config_toml(
    text: str | bytes, *, source: str = "TOML config", env: Mapping[str, str] | None = None
) -> ClientConfig:
    """Parse a TOML configuration document (the content of ``liter-llm.toml``; :mod:`tomllib`, ``tomli`` on 3.10).

    Raises:
        BadRequestError: invalid UTF-8, invalid TOML (with the line and column), or invalid content.
    """
    return _load(text, source, env, _toml)


def find_config_file(start: Path | None = None) -> Path | None:
    """The configuration file to use, or ``None`` when there is none.

    ``LITER_LLM_CONFIG``, when set and not empty, names the file, which must exist; otherwise
    ``liter-llm.toml`` is looked for in ``start`` (default: the working directory) and each parent.

    Raises:
        BadRequestError: ``LITER_LLM_CONFIG`` names a file that does not exist.
    """
    named = os.environ.get(CONFIG_ENV_VAR)
    if named:
        path = Path(named).expanduser()
        if not path.is_file():
            raise BadRequestError(f"{CONFIG_ENV_VAR} names {str(path)!r}, which is not an existing file")
        return path
    directory = Path.cwd() if start is None else Path(start)
    try:
        directory = directory.resolve()
    except OSError:
        directory = directory.absolute()
    for candidate_dir in (directory.parent if directory.is_file() else directory, *directory.parents):
        try:
            if (candidate_dir / CONFIG_FILE_NAME).is_file():
                return candidate_dir / CONFIG_FILE_NAME
        except OSError:  # an unreadable directory on the way up
            continue
    return None


def load_config_file(path: Path | None = None, *, env: Mapping[str, str] | None = None) -> ClientConfig | None:
    """Load ``path`` (JSON for a ``.json`` file, else TOML), or the file :func:`find_config_file` finds.

    Returns ``None`` when ``path`` is not given and no file was found.

    Raises:
        BadRequestError: the file cannot be read, or its content is invalid (the message starts with its path).
    """
    if path is None and (path := find_config_file()) is None:
        return None
    path = Path(path)
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise BadRequestError(
            f"cannot read configuration file {str(path)!r}: {exc.strerror or type(exc).__name__}"
        ) from None
    return _load(content, str(path), env, _json if path.suffix.lower() == ".json" else _toml)
