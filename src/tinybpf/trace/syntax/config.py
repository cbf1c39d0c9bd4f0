"""bpftrace's settings: the script's ``config = { ... }`` block and the ``BPFTRACE_*`` environment variables.

A setting is named in the block by its short name (``stack_mode``) or its variable name
(``BPFTRACE_STACK_MODE``); the environment variable wins over the block, as in bpftrace. ``lookup`` answers
for the compile and the run that follow ``load`` (one script per process, as the command line runs them).
"""
from __future__ import annotations

import os
from typing import Optional

from tinybpf.errors import TinyBPFError
from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.diagnostics import Diagnostic, TraceError

# short name -> other spellings of its environment variable
OPTIONS: dict[str, tuple[str, ...]] = {
    "stack_mode": (), "max_strlen": ("BPFTRACE_STRLEN",), "print_maps_on_exit": (), "missing_probes": (),
    "show_debug_info": (), "max_map_keys": ("BPFTRACE_MAP_KEYS_MAX",),
    "max_cat_bytes": ("BPFTRACE_CAT_BYTES_MAX",), "log_size": (), "perf_rb_pages": (), "on_stack_limit": (),
    "license": (), "max_bpf_progs": (), "max_probes": (), "max_type_res_iterations": (), "cpp_demangle": (),
    "lazy_symbolication": (), "cache_user_symbols": (), "symbol_source": (), "use_blazesym": (),
    "str_trunc_trailer": (), "unstable_map_decl": (), "unstable_macro": (),
    "unstable_import": (), "unstable_tseries": (), "unstable_addr": (), "unstable_typeinfo": (),
}
MISSING_PROBES = ("error", "warn", "ignore")
# the licenses bpftrace accepts, in the order its error message lists them
LICENSES = ("Dual MIT/GPL", "Dual BSD/GPL", "Dual MPL/GPL", "GPL and additional rights", "GPL v2", "GPL")

_block: dict[str, str] = {}


def _short_name(name: str) -> Optional[str]:
    lowered = name.lower()
    if lowered.startswith("bpftrace_"):
        lowered = lowered[len("bpftrace_"):]
    if lowered in OPTIONS:
        return lowered
    for short, aliases in OPTIONS.items():
        if name.upper() in aliases:
            return short
    return None


def _text(expr: ast.Expression) -> Optional[str]:
    if isinstance(expr, ast.String):
        return expr.text
    if isinstance(expr, ast.Integer):
        return str(expr.value)
    if isinstance(expr, (ast.Identifier, ast.Builtin)):
        return expr.name
    if isinstance(expr, ast.StackMode):
        return expr.mode
    return None


def load(program: ast.Program, source: str, filename: str = "stdin") -> None:
    """Read the script's config block (raises ``TraceError`` for an unknown name or value), then check every
    setting tinybpf reads (raises ``ConfigError``)."""
    _block.clear()
    positions: dict[str, ast.Pos] = {}
    for stmt in program.config.statements if program.config is not None else ():
        short = _short_name(stmt.name)
        if short is None:
            raise TraceError([Diagnostic(f"{stmt.name}: not a known configuration option",
                                         stmt.pos.to(stmt.expr.pos))], source, filename)
        value = _text(stmt.expr)
        if value is None:
            raise TraceError([Diagnostic(f"Invalid value for {short}", stmt.expr.pos)], source, filename)
        if short == "license" and value not in LICENSES:
            raise TraceError([Diagnostic(f"Invalid value for license. Found: {value}. Valid values: "
                                         f"{', '.join(LICENSES)}. Read more about BPF programs and licensing: "
                                         "https://docs.kernel.org/bpf/bpf_licensing.html"
                                         "#using-bpf-programs-in-the-linux-kernel", stmt.expr.pos)],
                             source, filename)
        _block[short] = value
        positions[short] = stmt.expr.pos
    try:
        check()
    except ConfigError as exc:
        if exc.key in positions and exc.key in _block and _find(exc.key) == (exc.key, _block[exc.key]):
            raise TraceError([Diagnostic(exc.message, positions[exc.key])], source,
                             filename) from None
        raise


def lookup(short: str, default: str = "") -> str:
    """A setting's value: its environment variable, else the config block, else ``default``."""
    found = _find(short)
    return default if found is None else found[1]


def _find(short: str) -> Optional[tuple[str, str]]:
    """(where the setting was given: its environment variable or the block's key, its text)."""
    for name in (f"BPFTRACE_{short.upper()}", *OPTIONS.get(short, ())):
        value = os.environ.get(name)
        if value is not None:
            return name, value
    return (short, _block[short]) if short in _block else None


class ConfigError(TinyBPFError):
    """A setting whose value bpftrace would refuse (not a number, zero, or too large for the kernel);
    ``key`` is the setting's short name."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


_U32 = 0xFFFF_FFFF
_U64 = (1 << 64) - 1
# the numeric settings tinybpf reads -> the values it accepts (a map's max_entries and a log's size are u32)
NUMBERS: dict[str, tuple[int, int]] = {
    "max_map_keys": (1, _U32), "max_strlen": (1, _U64), "max_cat_bytes": (1, _U64), "log_size": (1, _U32),
    "perf_rb_pages": (1, _U32), "max_probes": (1, _U64), "max_bpf_progs": (1, _U64),
}
# the yes/no settings tinybpf reads
FLAGS = ("print_maps_on_exit",)
# the settings that name one of a few words, with bpftrace's message for any other
CHOICES: dict[str, tuple[tuple[str, ...], str]] = {
    "stack_mode": (("bpftrace", "perf", "raw", "build_id"),
                   "Invalid value for stack_mode: valid values are bpftrace, raw, perf, and build_id."),
    "missing_probes": (MISSING_PROBES, "Invalid value for missing_probes: valid values are ignore, warn, and "
                                       "error."),
}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def lookup_int(short: str, default: int) -> int:
    """A numeric setting, checked as bpftrace checks it; raises ``ConfigError``."""
    found = _find(short)
    if found is None:
        return default
    name, text = found
    value = int(text) if text.isdigit() and text.isascii() else None
    low, high = NUMBERS.get(short, (0, _U64))
    if value is None or value > _U64 or value < low:
        if name.startswith("BPFTRACE_"):
            raise ConfigError(short, f"Env var '{name}' did not contain a valid uint64_t, or was zero-valued.")
        raise ConfigError(short, f"{name}: expecting a positive number, got {text}")
    if value > high:
        raise ConfigError(short, f"{name}: {value} is too large (at most {high})")
    return value


def flag(short: str, default: bool) -> bool:
    """A yes/no setting (``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``); raises ``ConfigError``."""
    found = _find(short)
    if found is None:
        return default
    name, text = found
    if text.lower() not in _TRUE + _FALSE:
        raise ConfigError(short, f"{name}: Invalid bool value: valid values are true, false, 1 or 0.")
    return text.lower() in _TRUE


def check() -> None:
    """Every numeric and yes/no setting, checked before anything compiles or attaches."""
    for short in NUMBERS:
        lookup_int(short, 0)
    for short in FLAGS:
        flag(short, True)
    for short, (words, message) in CHOICES.items():
        found = _find(short)
        if found is not None and found[1] not in words:
            raise ConfigError(short, f"{found[0]}: {message}")
