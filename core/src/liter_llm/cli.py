"""The ``liter-llm`` command line.

Commands::

    liter-llm chat [-m MODEL] [--system S] [--json] PROMPT   stream an answer ('-' reads stdin)
    liter-llm models [-p PROVIDER]                           list a provider's models
    liter-llm providers                                      installed providers, their keys and endpoints
    liter-llm plugins                                        installed plugins and their hooks
    liter-llm config check [FILE]                            validate liter-llm.toml
    liter-llm <plugin command> ...                           commands added by plugins (register_commands)

The client is created from ``liter-llm.toml`` when one is found (the file
``LITER_LLM_CONFIG`` names, or the first one upwards from the working
directory), else with defaults: keys come from each provider's environment
variable.  Errors print one line, ``error: ...``, to stderr; the exit status
is 2 for a usage error, 1 for a failed call and 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from liter_llm.client import DefaultClient
    from liter_llm.providers import ProviderSpec

__all__ = ["main"]

MODEL_ENV = "LITER_LLM_MODEL"
LOCAL_MODEL = "local/smollm2"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A mistake in how the command was called (exit status 2)."""


class CliError(Exception):
    """A failure that is not the provider's (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    """An argparse parser whose errors are one ``error: ...`` line and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="liter-llm", description="One client for every LLM provider.")
    from liter_llm import __version__

    parser.add_argument("--version", action="version", version=f"liter-llm {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log every HTTP attempt to stderr")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    chat = commands.add_parser("chat", help="send a prompt and stream the answer")
    chat.add_argument("prompt", metavar="PROMPT", help="the prompt; '-' reads it from standard input")
    chat.add_argument(
        "-m",
        "--model",
        help=f"the model (default: ${MODEL_ENV}, else {LOCAL_MODEL} when the local plugin is installed)",
    )
    chat.add_argument("--system", metavar="S", help="a system message sent before the prompt")
    chat.add_argument("--json", action="store_true", help="print the whole answer as JSON instead of streaming text")

    tokens = commands.add_parser("tokens", help="count the tokens of a text for a model, offline")
    tokens.add_argument("text", metavar="TEXT", help="the text; '-' reads it from standard input")
    tokens.add_argument("-m", "--model", help=f"the model (default: ${MODEL_ENV})")
    tokens.add_argument("--chat", action="store_true", help="count the text as one user message, with its overheads")

    models = commands.add_parser("models", help="list the models a provider offers")
    models.add_argument("-p", "--provider", help="the provider (default: the client's default provider)")

    commands.add_parser("providers", help="list the installed providers, whether their key is set, and their endpoints")
    commands.add_parser("plugins", help="list the installed plugins and the hooks they implement")

    config = commands.add_parser("config", help="configuration commands")
    config_commands = config.add_subparsers(dest="config_command", metavar="SUBCOMMAND", parser_class=_Parser)
    config_commands.required = True
    check = config_commands.add_parser("check", help="validate a configuration file and print it (keys redacted)")
    check.add_argument("file", nargs="?", metavar="FILE", help="the file (default: the one liter-llm would use)")
    _add_plugin_commands(commands)
    return parser


def _add_plugin_commands(commands: argparse._SubParsersAction[Any]) -> None:
    """Let every entry-point plugin add its subcommands (the ``register_commands`` hook)."""
    from liter_llm.registry import get_registry, new_plugin_manager

    for loaded in get_registry().plugins:
        pm = new_plugin_manager()
        try:
            pm.register(loaded.plugin, name=loaded.name)
        except Exception:  # the registry already warned about a broken plugin
            continue
        if not pm.hook.register_commands.get_hookimpls():
            continue
        taken = dict(commands.choices)
        try:
            pm.hook.register_commands(subparsers=commands)
        except Exception as exc:
            sys.stderr.write(
                f"warning: plugin {loaded.name!r} could not add its commands: {type(exc).__name__}: {exc}\n"
            )
        for name, parser in taken.items():
            if commands.choices.get(name) is not parser:  # Python 3.10 lets a second add_parser replace the first
                commands.choices[name] = parser
                sys.stderr.write(f"warning: plugin {loaded.name!r} may not replace the command {name!r}\n")


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def _make_client() -> DefaultClient:
    """The client: from liter-llm.toml when one is found, else with defaults."""
    import liter_llm
    from liter_llm.config import find_config_file

    path = find_config_file()
    if path is not None:
        return liter_llm.create_client_from_file(str(path))
    return liter_llm.create_client()


def _choose_model(explicit: str | None) -> str:
    if explicit:
        return explicit
    from_env = os.environ.get(MODEL_ENV, "").strip()
    if from_env:
        return from_env
    from liter_llm._plugins import get_registry

    if get_registry().get("local") is not None:
        return LOCAL_MODEL
    raise UsageError(f"no model given: pass -m MODEL or set {MODEL_ENV}")


def _read_prompt(prompt: str, stdin: IO[str]) -> str:
    if prompt == "-":
        prompt = stdin.read()
    if not prompt.strip():
        raise UsageError("the prompt is empty")
    return prompt


def _table(rows: Sequence[Sequence[str]], out: IO[str]) -> None:
    if not rows:
        return
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        out.write("  ".join([*cells, row[-1]]).rstrip() + "\n")


# ---------------------------------------------------------------------------
# Commands
# ---------------------------------------------------------------------------


def _cmd_chat(args: argparse.Namespace, out: IO[str], stdin: IO[str]) -> int:
    prompt = _read_prompt(args.prompt, stdin)
    model = _choose_model(args.model)
    messages: list[dict[str, Any]] = []
    if args.system:
        messages.append({"role": "system", "content": args.system})
    messages.append({"role": "user", "content": prompt})
    with _make_client() as client:
        stream = client.chat_stream(model=model, messages=messages)
        with stream:
            try:
                if args.json:
                    response = stream.response()
                    out.write(json.dumps(response.to_dict(), ensure_ascii=False, indent=2) + "\n")
                    out.flush()
                    return EXIT_OK
                wrote = False
                for chunk in stream:
                    for choice in chunk.choices:
                        text = choice.delta.content
                        if text and choice.index == 0:
                            out.write(text)
                            out.flush()
                            wrote = True
                if wrote:
                    out.write("\n")
                    out.flush()
            except KeyboardInterrupt:
                stream.close()
                raise
    return EXIT_OK


def _cmd_tokens(args: argparse.Namespace, out: IO[str], stdin: IO[str]) -> int:
    from liter_llm.tokens import count_tokens

    text = _read_prompt(args.text, stdin)
    model = _choose_model(args.model)
    messages = [{"role": "user", "content": text}] if args.chat else None
    result = count_tokens(model, messages, input=None if args.chat else text)
    exact = "exact" if result.exact else "not exact"
    out.write(f"{result.tokens} tokens ({result.method}, {exact})\n")
    return EXIT_OK


def _cmd_models(args: argparse.Namespace, out: IO[str]) -> int:
    with _make_client() as client:
        listing = client.list_models(provider=args.provider)
    for model in sorted(listing.data, key=lambda m: m.id):
        out.write(model.id + "\n")
    return EXIT_OK


def _key_status(spec: ProviderSpec) -> tuple[str, str]:
    variable = spec.api_key_env
    if not variable:
        return "-", "no key needed" if not spec.requires_api_key else "key from configuration"
    present = bool(os.environ.get(variable))
    if present:
        return variable, "set"
    return variable, "not set" if spec.requires_api_key else "not set (optional)"


def _cmd_providers(out: IO[str]) -> int:
    from liter_llm._plugins import get_registry

    registry = get_registry()
    rows = [("NAME", "BASE URL", "KEY VARIABLE", "KEY", "FROM", "ENDPOINTS")]
    for name, spec in sorted(registry.all_providers().items()):
        base_url = os.environ.get(spec.base_url_variable) or spec.base_url or f"(set {spec.base_url_variable})"
        variable, status = _key_status(spec)
        endpoints = ",".join(sorted(spec.endpoints)) or "-"
        rows.append((name, base_url, variable, status, spec.distribution or "-", endpoints))
    _table(rows, out)
    return EXIT_OK


def _hook_names(plugin: Any) -> list[str]:
    from liter_llm._plugins import new_plugin_manager

    pm = new_plugin_manager()
    try:
        pm.register(plugin)
    except Exception:
        return []
    return sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())


def _cmd_plugins(out: IO[str]) -> int:
    from liter_llm._plugins import get_registry

    registry = get_registry()
    if not registry.plugins:
        out.write("no plugins installed\n")
        return EXIT_OK
    for loaded in registry.plugins:
        label = loaded.distribution or loaded.name
        version = f" {loaded.version}" if loaded.version else ""
        out.write(f"{label}{version} (entry point {loaded.name!r})\n")
        hooks = _hook_names(loaded.plugin)
        out.write(f"  hooks: {', '.join(hooks) if hooks else '-'}\n")
        out.write(f"  providers: {len(loaded.providers)}\n")
        for provider in loaded.providers:
            spec = registry.providers.get(provider)
            if spec is not None and spec.plugin is not None:
                out.write(f"  {provider} hooks: {', '.join(_hook_names(spec.plugin)) or '-'}\n")
    return EXIT_OK


def _cmd_config_check(args: argparse.Namespace, out: IO[str]) -> int:
    from liter_llm.config import CONFIG_FILE_NAME, config_to_dict, find_config_file, load_config_file

    path = Path(args.file) if args.file else find_config_file()
    if path is None:
        raise CliError(f"no {CONFIG_FILE_NAME} found here or above: pass FILE or set LITER_LLM_CONFIG")
    config = load_config_file(path)
    assert config is not None
    out.write(json.dumps(config_to_dict(config), indent=2, ensure_ascii=False) + "\n")
    sys.stderr.write(f"{path}: valid\n")
    return EXIT_OK


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def _fail(message: str, status: int) -> int:
    sys.stderr.write(f"error: {' '.join(message.split())}\n")
    sys.stderr.flush()
    return status


def _setup_logging(verbose: bool) -> None:
    import logging

    logger = logging.getLogger("liter_llm")
    if verbose:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    else:  # the one-line error says what went wrong; retries are noise here
        logger.setLevel(logging.CRITICAL)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    from liter_llm.errors import LiterLlmError

    out = sys.stdout
    try:
        args = _build_parser().parse_args(argv)
        _setup_logging(args.verbose)
        handler = getattr(args, "handler", None)
        if handler is not None:  # a plugin's command
            status = handler(args)
            return EXIT_OK if status is None else int(status)
        if args.command == "chat":
            return _cmd_chat(args, out, sys.stdin)
        if args.command == "models":
            return _cmd_models(args, out)
        if args.command == "tokens":
            return _cmd_tokens(args, out, sys.stdin)
        if args.command == "providers":
            return _cmd_providers(out)
        if args.command == "plugins":
            return _cmd_plugins(out)
        return _cmd_config_check(args, out)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    except LiterLlmError as exc:
        return _fail(str(exc), EXIT_ERROR)
    except CliError as exc:
        return _fail(str(exc), EXIT_ERROR)
    except KeyboardInterrupt:
        try:
            out.write("\n")
            out.flush()
        except (OSError, ValueError):
            pass
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (``liter-llm models | head``): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
