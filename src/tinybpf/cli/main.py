"""Entry point: dispatch to a subcommand module, turn every error into one line and an exit code."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Callable, NoReturn, Optional

# subcommand -> module under tinybpf.cli that defines ``register(subparsers)``; imported on demand
COMMANDS = {
    "prog": "inspect",
    "map": "inspect",
    "link": "inspect",
    "net": "attachments",
    "perf": "attachments",
    "cgroup": "attachments",
    "struct_ops": "attachments",
    "features": "features_cmd",
    "feature": "feature_cmd",
    "asm": "asm_cmd",
    "disasm": "asm_cmd",
    "load": "load_cmd",
    "loadall": "load_cmd",
    "run": "object_cmd",
    "btf": "btf_cmd",
    "trace": "trace_cmd",
    "cc": "cc_cmd",
    "module": "module_cmd",
    "daemon": "module_cmd",
}

BPFTOOL_NOUNS = frozenset({"prog", "map", "link", "btf", "feature", "net", "perf", "cgroup", "struct_ops"})
"""Commands that read bpftool's grammar."""


# bpftool's spellings of commands that live elsewhere here: ``prog load`` is ``load``
ALIASES = {("prog", "load"): "load", ("prog", "loadall"): "loadall"}


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line with a hint, like every other tinybpf error."""

    def error(self, message: str) -> NoReturn:
        _fail(f"{message} (hint: see `{self.prog} --help`)")
        raise SystemExit(2)


def build_parser(only: Optional[str] = None) -> argparse.ArgumentParser:
    parser = Parser(prog="tinybpf", description="The eBPF toolchain in pure Python.")
    parser.add_argument("--version", action="version", version=_version())
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    modules = {COMMANDS[only]} if only in COMMANDS else dict.fromkeys(COMMANDS.values())
    for name in modules:
        importlib.import_module(f"tinybpf.cli.{name}").register(sub)
    return parser


def _version() -> str:
    from tinybpf import __version__

    return f"tinybpf {__version__}"


def main(argv: Optional[list[str]] = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    words = [i for i, a in enumerate(args_list) if not a.startswith("-")][:2]
    alias = ALIASES.get(tuple(args_list[i] for i in words))  # type: ignore[arg-type]
    if alias is not None:
        args_list = [*args_list[:words[0]], alias, *args_list[words[1] + 1:]]
    first = next((a for a in args_list if not a.startswith("-")), None)
    json_output = pretty = False
    if first in BPFTOOL_NOUNS:  # bpftool's -j/-p go anywhere on the line
        from tinybpf.cli.bpftool_words import split_output_flags

        args_list, json_output, pretty = split_output_flags(args_list)
    parser = build_parser(first)
    args, extra = parser.parse_known_args(args_list)
    if first in BPFTOOL_NOUNS:
        args.json = json_output or getattr(args, "json", False)
        args.pretty = pretty
    if extra:
        usage_error = getattr(args, "usage_error", parser.error)
        usage_error(f"unrecognized arguments: {' '.join(extra)}")
    handler: Callable[[argparse.Namespace], int] = args.handler
    return run(handler, args)


def run(handler: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Call a subcommand; every failure becomes ``tinybpf: error: ...`` on one line."""
    from tinybpf.errors import TinyBPFError

    try:
        return handler(args) or 0
    except TinyBPFError as exc:
        _fail(str(exc))
        log = getattr(exc, "log", "")
        if log and getattr(args, "verbose", False):
            sys.stderr.write(log + "\n")
        return int(getattr(exc, "exit_code", 1))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        _fail(f"{exc.strerror or exc}{where}")
        return 1
    except Exception as exc:  # a bug of ours: still one line, traceback on request
        if os.environ.get("TINYBPF_DEBUG"):
            raise
        _fail(f"internal error: {type(exc).__name__}: {exc} (set TINYBPF_DEBUG=1 for a traceback and report it)")
        return 70


def _fail(message: str) -> None:
    sys.stderr.write(f"tinybpf: error: {message}\n")


if __name__ == "__main__":
    sys.exit(main())
