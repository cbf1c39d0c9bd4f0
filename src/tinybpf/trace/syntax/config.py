"""bpftrace's settings: the script's ``config = { ... }`` block and the ``BPFTRACE_*`` environment variables.

A setting is named in the block by its short name (``stack_mode``) or its variable name
(``BPFTRACE_STACK_MODE``); the environment variable wins over the block, as in bpftrace. ``lookup`` answers
for the compile and the run that follow ``load`` (one script per process, as the command line runs them).
"""
from __future__ import annotations

import os
from typing import Optional

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
    """Read the script's config block (raises ``TraceError`` for an unknown name or value)."""
    _block.clear()
    if program.config is None:
        return
    for stmt in program.config.statements:
        short = _short_name(stmt.name)
        if short is None:
            raise TraceError([Diagnostic(f"{stmt.name}: not a known configuration option",
                                         stmt.pos.to(stmt.expr.pos))], source, filename)
        value = _text(stmt.expr)
        if value is None or (short == "missing_probes" and value not in MISSING_PROBES):
            raise TraceError([Diagnostic(f"Invalid value for {short}", stmt.expr.pos)], source, filename)
        if short == "license" and value not in LICENSES:
            raise TraceError([Diagnostic(f"Invalid value for license. Found: {value}. Valid values: "
                                         f"{', '.join(LICENSES)}. Read more about BPF programs and licensing: "
                                         "https://docs.kernel.org/bpf/bpf_licensing.html"
                                         "#using-bpf-programs-in-the-linux-kernel", stmt.expr.pos)],
                             source, filename)
        _block[short] = value


def lookup(short: str, default: str = "") -> str:
    """A setting's value: its environment variable, else the config block, else ``default``."""
    for name in (f"BPFTRACE_{short.upper()}", *OPTIONS.get(short, ())):
        value = os.environ.get(name)
        if value is not None:
            return value
    return _block.get(short, default)


def lookup_int(short: str, default: int) -> int:
    text = lookup(short, "")
    try:
        return int(text, 0) if text else default
    except ValueError:
        return default


def flag(short: str, default: bool) -> bool:
    text = lookup(short, "").lower()
    if not text:
        return default
    return text not in ("0", "false", "no", "off")
