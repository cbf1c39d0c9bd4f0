"""bpftrace's standard library: macros written in the trace language, plus the ``__builtin_*`` names they use.

bpftrace ships part of its language as macros (``strlen``, ``pcomm``, ``assert``, ``comm()`` wrapping the
``comm`` builtin...). tinybpf does the same: ``SOURCE`` is parsed only when a script names one of its macros
and is expanded like the script's own macros, keyed by name and number of arguments, so a user macro of the
same name replaces only the variant with its arity. ``builtin`` turns ``__builtin_X`` into what the builtin
means at compile time; ``fold`` evaluates the string helpers whose argument is known at compile time.

``socket_cookie(sk)`` reads the cookie the kernel keeps in the socket (``skc_cookie``): the
``bpf_get_socket_cookie`` helper is not allowed in the program types tinybpf loads, so a socket whose
cookie was never asked for reads 0 instead of getting one.
"""
from __future__ import annotations

import os
import signal
import socket
from typing import TYPE_CHECKING, Optional, Union

from tinybpf.trace.syntax import ast

if TYPE_CHECKING:
    from tinybpf.trace.syntax.lexer import Token

FILENAME = "stdlib/base.bt"

# The builtins a script may also call as ``name()``.
WRAPPED = ("comm", "cpid", "cpu", "elapsed", "func", "gid", "jiffies", "ncpus", "numaid", "pid", "probe",
           "probetype", "rand", "retval", "tid", "uid", "usermode", "username", "config", "cgroup", "curtask")

# Line 6 holds assert's errorf so that its location reads as bpftrace's own.
SOURCE = """\
// tinybpf trace standard library


macro assert(cond, msg) {
  if (!cond) {
    errorf("assert failed: %s", msg);
    exit(1);
  }
}
macro ppid(task) { task->real_parent->tgid }
macro ppid() { ppid(curtask) }
macro leader_tid(task) { task->group_leader->pid }
macro leader_tid() { leader_tid(curtask) }
macro pcomm(task) { task->real_parent->comm }
macro pcomm() { pcomm(curtask) }
macro leader_comm(task) { task->group_leader->comm }
macro leader_comm() { leader_comm(curtask) }
macro container_of(ptr, type, member) { (type *)((uint64)ptr - offsetof(type, member)) }
macro socket_cookie(sk) { (uint64)((struct sock *)sk)->__sk_common.skc_cookie.counter }
""" + "".join(f"macro {name}() {{ __builtin_{name} }}\n" for name in WRAPPED)

NAMES = frozenset(["assert", "ppid", "leader_tid", "pcomm", "leader_comm", "container_of", "socket_cookie", *WRAPPED])
FOLDED = frozenset(["strerror", "signal_name", "strlen", "fail", "write_user", "ntop"])

# bpftrace's defaults, for ``config.NAME`` of a setting the script leaves alone.
CONFIG_DEFAULTS: dict[str, Union[int, str]] = {
    "max_strlen": 1024, "stack_mode": "bpftrace", "cpp_demangle": 1, "lazy_symbolication": 0,
    "max_map_keys": 4096, "max_cat_bytes": 10240, "perf_rb_pages": 64, "log_size": 1000000,
    "max_bpf_progs": 1024, "max_probes": 1024, "missing_probes": "error", "print_maps_on_exit": 1,
    "on_stack_limit": 32, "symbol_source": "dwarf", "str_trunc_trailer": "..", "license": "GPL",
    "show_debug_info": 1, "cache_user_symbols": "PER_PROGRAM", "max_type_res_iterations": 0,
}
_USER_PROVIDERS = ("BEGIN", "END", "begin", "end", "uprobe", "uretprobe", "usdt")


def uses_library(tokens: list[Token]) -> bool:
    """Whether a script's tokens name a library macro (else the library is not parsed at all)."""
    return any(_names_library(t, after) for t, after in zip(tokens, tokens[1:]))


def _names_library(token: Token, after: Token) -> bool:
    """A builtin variable (``pid``) takes the library only when called (``pid()``, ``pid(init)``)."""
    if token.kind in ("BUILTIN", "CALL_BUILTIN"):
        return token.text in NAMES and after.kind == "("
    return token.text in NAMES or token.text in FOLDED or token.text.startswith("__builtin_")


def builtin(name: str, probe: Optional[ast.Probe], pos: ast.Pos) -> Optional[ast.Expression]:
    """What ``__builtin_<name>`` stands for: a compile-time constant or the builtin variable itself."""
    provider = probe.attach_points[0].provider if probe is not None and probe.attach_points else ""
    if name == "ncpus":
        return ast.Integer(pos=pos, value=os.cpu_count() or 1)
    if name == "probetype":
        special = provider in ("BEGIN", "END", "begin", "end", "self", "bench", "test")
        return ast.String(pos=pos, value=b"special" if special else _full_provider(provider).encode())
    if name == "usermode":
        return ast.Integer(pos=pos, value=1) if provider in _USER_PROVIDERS else None
    if name == "config":
        return None
    return ast.Builtin(pos=pos, name=name)


def _full_provider(provider: str) -> str:
    short = {"k": "kprobe", "kr": "kretprobe", "u": "uprobe", "ur": "uretprobe", "t": "tracepoint",
             "p": "profile", "i": "interval", "s": "software", "h": "hardware", "U": "usdt", "w": "watchpoint",
             "rawtracepoint": "rawtracepoint", "rt": "rawtracepoint", "f": "fentry", "fr": "fexit"}
    return short.get(provider, provider)


def namespaced(call: ast.Call) -> Optional[ast.Expression]:
    """``pid(init)``/``tid(init)``: the builtin; ``pid(curr_ns)``: the id seen from tinybpf's pid namespace."""
    arg = call.args[0]
    if not isinstance(arg, ast.Identifier) or arg.name not in ("init", "curr_ns"):
        return None
    return ast.Builtin(pos=call.pos, name=f"{call.name}_{arg.name}")


def config_field(field: str, pos: ast.Pos) -> Optional[ast.Expression]:
    """``config.FIELD``: the setting's value, as an integer when it reads as one."""
    from tinybpf.trace.syntax import config

    default = CONFIG_DEFAULTS.get(field)
    if default is None and field not in config.OPTIONS:
        return None
    text = config.lookup(field, str(default if default is not None else ""))
    lowered = text.lower()
    if lowered in ("true", "false"):
        return ast.Integer(pos=pos, value=int(lowered == "true"))
    try:
        return ast.Integer(pos=pos, value=int(text, 0))
    except ValueError:
        return ast.String(pos=pos, value=text.encode("utf-8", "surrogateescape"))


def fold(call: ast.Call) -> Optional[ast.Expression]:
    """``strerror(N)``, ``signal_name(N)``, ``strlen("...")`` and ``ntop(pton("..."))`` of a literal, as
    literals (``pton`` alone is an ``int8[4]``/``int8[16]`` array, typed by ``functions``)."""
    if call.name == "ntop" and call.args:
        address = _address(call.args[-1])
        return None if address is None else ast.String(pos=call.pos, value=address[1].encode())
    if len(call.args) != 1:
        return None
    arg = call.args[0]
    if call.name == "strlen" and isinstance(arg, ast.String):
        return ast.Integer(pos=call.pos, value=len(arg.value.split(b"\0")[0]))
    if not isinstance(arg, ast.Integer):
        return None
    if call.name == "strerror":
        return ast.String(pos=call.pos, value=strerror(arg.value).encode())
    if call.name == "signal_name":
        return ast.String(pos=call.pos, value=signal_name(arg.value).encode())
    return None


def _address(e: ast.Expression) -> Optional[tuple[int, str]]:
    """``pton("literal")``'s family and canonical text."""
    if not isinstance(e, ast.Call) or e.name != "pton" or len(e.args) != 1 or not isinstance(e.args[0], ast.String):
        return None
    text = e.args[0].text
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            return family, socket.inet_ntop(family, socket.inet_pton(family, text))
        except OSError:
            continue
    return None


def strerror(number: int) -> str:
    """bpftrace's strerror: strerror(3) of the number as a C ``int`` (``999999999999`` is ``-727379969``)."""
    number &= 0xFFFF_FFFF
    return os.strerror(number - (1 << 32) if number >> 31 else number)


def signal_name(number: int) -> str:
    """bpftrace's signal_name: strsignal(3)'s text, ``N/A`` out of range."""
    if number < 0 or number > 64:
        return "N/A"
    if number == 0:
        return "Unknown signal 0"
    try:
        return signal.strsignal(number) or f"Unknown signal {number}"
    except ValueError:
        return f"Unknown signal {number}"

