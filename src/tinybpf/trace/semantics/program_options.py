"""Named program options: ``getopt("name", default[, "description"])`` reads ``--name[=value]`` given after
``--`` on the command line; the value is a constant of the compiled program, typed by its default
(integer, string or bool; no default means a bool flag).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Optional, Union

from tinybpf.errors import TinyBPFError
from tinybpf.trace.syntax import ast

OptionValue = Union[int, bool, str]

_given: dict[str, Optional[str]] = {}


class ProgramOptionError(TinyBPFError):
    """A named option the script does not take, or a value of the wrong type (printed as ``ERROR: ...``)."""


def split_arguments(arguments: Sequence[str]) -> tuple[list[str], dict[str, Optional[str]]]:
    """The script's positional parameters and its ``--name[=value]`` options (``--`` separators dropped)."""
    positional: list[str] = []
    named: dict[str, Optional[str]] = {}
    for argument in arguments:
        if argument == "--":
            continue
        if argument.startswith("--"):
            name, equals, value = argument[2:].partition("=")
            named[name] = value if equals else None
        else:
            positional.append(argument)
    return positional, named


def declared(program: ast.Program) -> dict[str, tuple[Optional[ast.Expression], str]]:
    """Every ``getopt`` of the script: name -> (default expression, description)."""
    found: dict[str, tuple[Optional[ast.Expression], str]] = {}
    for node in ast.walk(program):
        if isinstance(node, ast.Call) and node.name == "getopt" and node.args and isinstance(node.args[0],
                                                                                              ast.String):
            default = node.args[1] if len(node.args) > 1 else None
            description = node.args[2].text if len(node.args) > 2 and isinstance(node.args[2], ast.String) else ""
            found[node.args[0].text] = (default, description)
    return found


def hint(program: ast.Program) -> str:
    lines = ["HINT: expected program options:"]
    for name, (_, description) in sorted(declared(program).items(), key=lambda item: item[0], reverse=True):
        lines.append(f"  --{name}" + (f": {description}" if description else ""))
    return "\n".join(lines)


def bind(program: ast.Program, named: dict[str, Optional[str]]) -> None:
    """Check the given options against the script's ``getopt`` calls and keep them for the compile."""
    expected = declared(program)
    if "help" in named and "help" not in expected:
        raise ProgramOptionError(hint(program))
    unexpected = [name for name in named if name not in expected]
    if unexpected:
        names = ", ".join("--" + n for n in unexpected)
        wanted = ", ".join("--" + n for n in expected)
        raise ProgramOptionError(f"ERROR: unexpected program command line options: {names}\nHINT: expected program options: "
                           f"{wanted}")
    _given.clear()
    _given.update(named)
    for name, (default, _) in expected.items():
        if name in named:
            value_of(name, default)


def value_of(name: str, default: Optional[ast.Expression]) -> OptionValue:
    """The option's value, typed by ``default``."""
    present = name in _given
    given = _given.get(name)
    if default is None or (isinstance(default, ast.Identifier) and default.name in ("true", "false")):
        fallback = isinstance(default, ast.Identifier) and default.name == "true"
        if not present:
            return fallback
        if given is None:
            return True
        if given.lower() in ("true", "1", "yes", "on"):
            return True
        if given.lower() in ("false", "0", "no", "off"):
            return False
        raise ProgramOptionError(f"ERROR: program command line option --{name} invalid boolean (value: {given})")
    if isinstance(default, ast.String):
        return default.text if given is None else given
    if given is None:
        return _int_default(default)
    try:
        return int(given, 0)
    except ValueError:
        raise ProgramOptionError(f"ERROR: program command line option --{name} invalid integer (value: {given})") from None


def _int_default(default: ast.Expression) -> int:
    if isinstance(default, ast.Integer):
        return default.value
    if isinstance(default, ast.Unop) and default.op == "-" and isinstance(default.operand, ast.Integer):
        return -default.operand.value
    return 0
