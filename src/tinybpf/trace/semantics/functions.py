"""Semantic checks and result types of bpftrace's helper functions beyond printing and maps.

``CHECKS`` maps a function name to ``check(analyser, call) -> SType``; ``SemanticAnalyser.call`` consults
it first. The types of values that print as text (``ksym``, ``kstack``, ``strftime``...) are memory blobs
decoded in user space by ``trace.values``; the messages follow bpftrace's wording.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from tinybpf.kernel import pt_regs
from tinybpf.trace.semantics.stype import BOOL, INT64, NONE, UINT64, SType
from tinybpf.trace.syntax import ast

if TYPE_CHECKING:
    from tinybpf.trace.semantics.analysis import Analyser as SemanticAnalyser

STACK_MODES = ("bpftrace", "perf", "raw", "build_id")
MAX_STACK_FRAMES = 127
KSYM = SType("ksym", 8)
STRERROR = SType("strerror", 8)
SYSCALL_NAME = SType("syscall_name", 8)
USYM = SType("usym", 16)
TIMESTAMP = SType("timestamp", 16)
INET = SType("inet", 24)
MAC = SType("mac", 6)
CGROUP_PATH = SType("cgroup_path", 8)
USERNAME = SType("username", 8)
UNSAFE = ("system", "signal", "override", "write_user")


def stack_type(kernel: bool, mode: str = "", limit: int = MAX_STACK_FRAMES) -> SType:
    """``kstack``/``ustack``: a stack id (and for ustack the pid) with the print mode and frame limit in
    ``tag``; the frames stay in the stack-trace map until printed."""
    from tinybpf.trace.syntax import config

    mode = mode or config.lookup("stack_mode", "bpftrace")
    return SType("kstack" if kernel else "ustack", 8 if kernel else 16, tag=f"{mode}:{limit}")


def buffer_type(length: int) -> SType:
    """``buf()``: a length byte, then the bytes."""
    return SType("buffer", length + 8, tag=str(length))


def _args(a: SemanticAnalyser, e: ast.Call) -> list[SType]:
    return [a.expr(arg) for arg in e.args]


def _strcontains(a: SemanticAnalyser, e: ast.Call) -> SType:
    args = _args(a, e)
    if a.nargs(e, 2):
        for i, t in enumerate(args):
            if not t.is_string and t.kind != "none":
                a.error(f"strcontains() expects a string as argument {i + 1} ({t} provided)", e.pos)
    return BOOL


def _stack(a: SemanticAnalyser, e: ast.Call) -> SType:
    kernel = e.name == "kstack"
    mode, limit = "", MAX_STACK_FRAMES
    a.nargs(e, 0, 2)
    for arg in e.args:
        if isinstance(arg, ast.Identifier) and arg.name in STACK_MODES:
            mode = arg.name
            continue
        if isinstance(arg, ast.StackMode):
            if arg.mode not in STACK_MODES:
                a.error(f"{e.name}: stack mode '{arg.mode}' is not supported by tinybpf trace", arg.pos)
            mode = arg.mode
            continue
        value = a.const_int(arg)
        if value is None:
            a.error(f"{e.name}: invalid limit value", arg.pos)
        elif value < 0 or value > 1024:
            a.error(f"{e.name}([int limit]): limit shouldn't exceed {MAX_STACK_FRAMES}, {value} given", arg.pos)
        else:
            limit = min(value, MAX_STACK_FRAMES)
    return stack_type(kernel, mode, limit)


def stack_builtin(a: SemanticAnalyser, e: ast.Builtin) -> SType:
    """The ``kstack``, ``ustack`` and ``username`` builtins."""
    if e.name == "username":
        return USERNAME
    return stack_type(e.name == "kstack")


def _one_int(result: SType, what: str = "an integer") -> Callable[[SemanticAnalyser, ast.Call], SType]:
    """The check of a one-argument call taking an integer (or a pointer: ``is_int`` covers both)."""
    def check(a: SemanticAnalyser, e: ast.Call) -> SType:
        args = _args(a, e)
        if a.nargs(e, 1) and not args[0].is_int and args[0].kind != "none":
            a.error(f"{e.name}() expects {what} argument ({args[0]} provided)", e.pos)
        return result
    return check


def _bswap(a: SemanticAnalyser, e: ast.Call) -> SType:
    args = _args(a, e)
    if not a.nargs(e, 1):
        return UINT64
    t = args[0]
    if not t.is_int:
        a.error(f"bswap() only supports integer arguments ({t} provided)", e.pos)
        return UINT64
    return SType("int", t.size, False)


def _map_of(a: SemanticAnalyser, e: ast.Call) -> None:
    arg = e.args[0] if e.args else None
    if not isinstance(arg, ast.Map) or arg.keys:
        a.error(f"{e.name}() expects a map argument", e.pos)
    elif arg.name not in a.result.maps:
        a.error(f"Undefined map: {arg.name}", arg.pos)
    else:
        a.set(arg, NONE)
    for extra in e.args[1:]:
        a.expr(extra)


def _len(a: SemanticAnalyser, e: ast.Call) -> SType:
    if not a.nargs(e, 1):
        return INT64
    if not isinstance(e.args[0], ast.Map) and a.expr(e.args[0]).kind in ("kstack", "ustack"):
        return INT64  # the number of frames
    _map_of(a, e)
    arg = e.args[0]
    info = a.result.maps.get(arg.name) if isinstance(arg, ast.Map) else None
    if info is not None and info.keyless:
        a.error("call to len() expects a map with explicit keys (non-scalar map)", e.pos)
    return INT64


def _has_key(a: SemanticAnalyser, e: ast.Call) -> SType:
    if not a.nargs(e, 2):
        return BOOL
    arg = e.args[0]
    if not isinstance(arg, ast.Map) or arg.keys:
        a.error("has_key() expects a map argument", e.pos)
        return BOOL
    info = a.result.maps.get(arg.name)
    if info is not None and info.keyless:
        a.error("call to has_key() expects a map with explicit keys (non-scalar map)", e.pos)
    a.set(arg, NONE)
    a.expr(e.args[1])
    return BOOL


def _nsecs(a: SemanticAnalyser, e: ast.Call) -> SType:
    if a.nargs(e, 0, 1) and e.args:
        arg = e.args[0]
        if not isinstance(arg, ast.Identifier) or arg.name not in _CLOCKS:
            a.error("nsecs() expects a clock: monotonic, boot, tai or sw_tai", e.pos)
    return UINT64


_CLOCKS = {"monotonic": "ktime_get_ns", "boot": "ktime_get_boot_ns", "tai": "ktime_get_tai_ns",
           "sw_tai": "ktime_get_tai_ns"}


def clock_helper(e: ast.Call) -> str:
    arg = e.args[0] if e.args else None
    return _CLOCKS.get(arg.name if isinstance(arg, ast.Identifier) else "monotonic", "ktime_get_ns")


def check_safe(program: ast.Program, source: str, filename: str) -> None:
    """Without ``--unsafe``, bpftrace refuses the functions that change the system."""
    from tinybpf.trace.syntax.diagnostics import Diagnostic, TraceError

    for node in ast.walk(program):
        if isinstance(node, ast.Call) and node.name in UNSAFE:
            message = ("is unsafe. To use you need the --unsafe flag" if node.name == "write_user"
                       else "is an unsafe function being used in safe mode")
            raise TraceError([Diagnostic(f"{node.name}() {message}", node.pos)], source, filename)


def _format_call() -> Callable[[SemanticAnalyser, ast.Call], SType]:
    """system/cat/errorf/warnf: a literal format and printf's arguments, formatted in user space."""
    def check(a: SemanticAnalyser, e: ast.Call) -> SType:
        args = _args(a, e)
        if not e.args:
            a.nargs(e, 1, 1 << 30)
            return NONE
        if not isinstance(e.args[0], ast.String):
            a.error(f"{e.name}() expects a string literal as its first argument", e.args[0].pos)
            return NONE
        a.check_format(e, e.args[0].text, args[1:])
        return NONE
    return check


def _signal(a: SemanticAnalyser, e: ast.Call) -> SType:
    args = _args(a, e)
    if a.nargs(e, 1, 2) and not args[-1].is_int and not isinstance(e.args[-1], ast.String):
        a.error("signal() only accepts a string literal or integer", e.pos)
    return NONE


DEBUGF_MAX_ARGS = 3  # bpf_trace_printk takes three values after the format


def _debugf(a: SemanticAnalyser, e: ast.Call) -> SType:
    """``debugf(fmt, ...)``: a line in the kernel's trace buffer (``bpf_trace_printk``): integers and strings."""
    args = _args(a, e)
    if not e.args or not isinstance(e.args[0], ast.String):
        a.error("debugf() expects a string literal as its first argument", e.pos)
        return NONE
    if len(args) > DEBUGF_MAX_ARGS + 1:
        a.error(f"debugf() takes at most {DEBUGF_MAX_ARGS} arguments after the format ({len(args) - 1} given)",
                e.pos)
    for arg, t in zip(e.args[1:], args[1:]):
        if not t.is_int and not t.is_string and t.kind != "none":
            a.error(f"debugf() only prints integers and strings ({t} provided)", arg.pos)
    return NONE


def _symbol(result: SType) -> Callable[[SemanticAnalyser, ast.Call], SType]:
    return _one_int(result, "an integer or a pointer")


def _reg(a: SemanticAnalyser, e: ast.Call) -> SType:
    _args(a, e)
    if not a.nargs(e, 1):
        return UINT64
    arg = e.args[0]
    if not isinstance(arg, ast.String):
        a.error("reg() expects a string literal as its argument", arg.pos)
    elif pt_regs.RUNNING is None or arg.text not in pt_regs.RUNNING.registers:
        a.error(f"'{arg.text}' is not a valid register on this architecture", e.pos)
    elif a.provider not in ("kprobe", "kretprobe", "uprobe", "uretprobe", "usdt"):
        a.error(f"reg can not be used with \"{a.provider}\" probes", e.pos)
    return UINT64


def _address(a: SemanticAnalyser, e: ast.Call) -> SType:
    _args(a, e)
    if a.nargs(e, 1) and not isinstance(e.args[0], ast.String):
        a.error(f"{e.name}() expects a string literal", e.pos)
    elif e.name == "kaddr" and isinstance(e.args[0], ast.String):
        from tinybpf.symbols import kernel_symbols

        if kernel_symbols().address(e.args[0].text) is None:
            a.error(f"Failed to resolve kernel symbol: {e.args[0].text}",
                    e.pos._replace(lead_line=e.pos.line, lead_column=e.pos.column))
    if e.name != "uaddr" or len(e.args) != 1 or not isinstance(e.args[0], ast.String) or a.probe is None:
        return UINT64
    from tinybpf.trace.semantics import user_symbols

    points = a.probe.attach_points
    symbol = user_symbols.find(points[0].target, e.args[0].text) if points else None
    width = user_symbols.pointee_bytes(symbol)
    return SType("ptr", 8, pointee=SType("int", width), addrspace="user")


def _buf(a: SemanticAnalyser, e: ast.Call) -> SType:
    args = _args(a, e)
    if not a.nargs(e, 1, 2):
        return buffer_type(1)
    length = a.result.string_size
    if len(e.args) == 2:
        value = a.const_int(e.args[1])
        if value is not None and value < 0:
            a.error(f"buf cannot use negative length ({value})", e.pos)
        length = min(value, a.result.string_size) if value is not None else a.result.string_size
    elif args[0].kind in ("array", "string"):
        length = args[0].size
    return buffer_type(max(length, 1))


def _strftime(a: SemanticAnalyser, e: ast.Call) -> SType:
    _args(a, e)
    if not a.nargs(e, 2):
        return TIMESTAMP
    if not isinstance(e.args[0], ast.String):
        a.error("strftime() expects a string literal as its first argument", e.pos)
        return TIMESTAMP
    return SType("timestamp", 16, tag=e.args[0].text)


def _strlen(a: SemanticAnalyser, e: ast.Call) -> SType:
    args = _args(a, e)
    if a.nargs(e, 1) and not args[0].is_string and args[0].kind not in ("array", "none"):
        a.error(f"strlen() expects a string ({args[0]} provided)", e.pos)
    return UINT64


def _macaddr(a: SemanticAnalyser, e: ast.Call) -> SType:
    args = _args(a, e)
    if a.nargs(e, 1) and not (args[0].kind in ("array", "string", "none") and args[0].size >= 6):
        a.error(f"macaddr() only supports array arguments of at least 6 bytes ({args[0]} provided)", e.pos)
    return MAC


def percpu_variable(name: str) -> Optional[Any]:
    """The kernel's BTF ``VAR`` called ``name`` (``percpu_kaddr``), or None."""
    from tinybpf.btf import Kind, kernel_btf

    try:
        return kernel_btf().find(name, Kind.VAR)
    except (KeyError, OSError):
        return None


def _percpu_kaddr(a: SemanticAnalyser, e: ast.Call) -> SType:
    args = _args(a, e)
    if not a.nargs(e, 1, 2):
        return UINT64
    if not isinstance(e.args[0], ast.String):
        a.error("percpu_kaddr() expects a string literal as its first argument", e.pos)
        return UINT64
    if len(args) > 1 and not args[1].is_int:
        a.error(f"percpu_kaddr() expects an integer cpu ({args[1]} provided)", e.pos)
    var = percpu_variable(e.args[0].text)
    if var is None:
        a.error(f"Could not resolve variable \"{e.args[0].text}\" from BTF", e.pos)
        return UINT64
    from tinybpf.symbols import kernel_symbols

    if kernel_symbols().address(var.name) is None:
        a.error(f"percpu_kaddr(): the kernel does not list '{var.name}' in /proc/kallsyms "
                "(CONFIG_KALLSYMS_ALL is off), so BPF cannot take its address", e.pos)
    return SType("ptr", 8, pointee=a.ctypes().from_btf(var.type))


def _ntop(a: SemanticAnalyser, e: ast.Call) -> SType:
    args = _args(a, e)
    if a.nargs(e, 1, 2):
        t = args[-1]
        if not t.is_int and t.kind not in ("array", "string", "none"):
            a.error(f"ntop() expects an integer or array argument, got {t}", e.pos)
        elif t.kind in ("array", "string") and t.size not in (4, 16):
            a.error("ntop() argument must be 4 or 16 bytes in size", e.pos)
    return INET


def pton_bytes(e: ast.Call) -> bytes:
    """The address ``pton("127.0.0.1")`` names, in network byte order; empty when it names none."""
    import ipaddress

    arg = e.args[0] if e.args else None
    try:
        return ipaddress.ip_address(arg.text).packed if isinstance(arg, ast.String) else b""
    except ValueError:
        return b""


def _pton(a: SemanticAnalyser, e: ast.Call) -> SType:
    """``pton(addr)``: an IPv4 or IPv6 address literal as ``int8[4]``/``int8[16]``, computed here."""
    _args(a, e)
    if not a.nargs(e, 1):
        return NONE
    if not isinstance(e.args[0], ast.String):
        a.error("pton() expects a string literal argument", e.pos)
        return NONE
    packed = pton_bytes(e)
    if not packed:
        a.error(f"pton() expects a valid IPv4 or IPv6 address, got {e.args[0].text}", e.pos)
        return NONE
    return SType("array", len(packed), pointee=SType("int", 1, True))


def _address_space(a: SemanticAnalyser, e: ast.Call) -> SType:
    """``uptr(p)``/``kptr(p)``: ``p`` read from user/kernel memory from now on (an integer stays as is)."""
    from tinybpf.trace.semantics.memory import with_space

    args = _args(a, e)
    if not a.nargs(e, 1):
        return NONE
    t = args[0]
    if not t.is_int and t.kind != "none":
        a.error(f"{e.name}() expects an integer or a pointer, got {t}", e.pos)
        return NONE
    return with_space(t, "user" if e.name == "uptr" else "kernel")


def _delete(a: SemanticAnalyser, e: ast.Call) -> SType:
    """``delete(@map, key)``: the two-argument form of current bpftrace."""
    target = e.args[0]
    if not isinstance(target, ast.Map) or target.keys:
        a.error("delete() expects a map argument", e.pos)
        return NONE
    keyed = ast.Map(target.pos, target.name, [e.args[1]])
    a.map_keys(keyed)
    a.set(target, NONE)
    e.args[:] = [keyed]
    return BOOL


def _cgroup_path(a: SemanticAnalyser, e: ast.Call) -> SType:
    _args(a, e)
    a.nargs(e, 1, 2)
    return CGROUP_PATH


def _getopt(a: SemanticAnalyser, e: ast.Call) -> SType:
    """``getopt(name[, default[, description]])``: a constant typed by its default."""
    from tinybpf.trace.semantics import program_options
    from tinybpf.trace.semantics.stype import string_type

    if not a.nargs(e, 1, 3) or not isinstance(e.args[0], ast.String):
        a.error("getopt() expects a string literal as its first argument", e.pos)
        return NONE
    default = e.args[1] if len(e.args) > 1 else None
    value = program_options.value_of(e.args[0].text, default)
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, str):
        return string_type(len(value.encode("utf-8", "surrogateescape")) + 1)
    negative = (isinstance(default, ast.Unop) and default.op == "-") or (isinstance(default, ast.Integer)
                                                                           and default.value < 0)
    return INT64 if negative else UINT64


def _errorf(a: SemanticAnalyser, e: ast.Call) -> SType:
    return _format_call()(a, e)


CHECKS: dict[str, Callable[[SemanticAnalyser, ast.Call], SType]] = {
    "strcontains": _strcontains,
    "kstack": _stack,
    "ustack": _stack,
    "bswap": _bswap,
    "len": _len,
    "has_key": _has_key,
    "nsecs": _nsecs,
    "system": _format_call(),
    "cat": _format_call(),
    "errorf": _errorf,
    "warnf": _errorf,
    "signal": _signal,
    "ksym": _symbol(KSYM),
    "strerror": _symbol(STRERROR),
    "syscall_name": _symbol(SYSCALL_NAME),
    "usym": _symbol(USYM),
    "kaddr": _address,
    "uaddr": _address,
    "buf": _buf,
    "strftime": _strftime,
    "ntop": _ntop,
    "macaddr": _macaddr,
    "strlen": _strlen,
    "reg": _reg,
    "percpu_kaddr": _percpu_kaddr,
    "debugf": _debugf,
    "pton": _pton,
    "uptr": _address_space,
    "kptr": _address_space,
    "cgroup_path": _cgroup_path,
    "cgroupid": _address,
    "getopt": _getopt,
}

# calls whose value is a memory blob written by ``codegen_functions.write``
MEMORY_CALLS = ("getopt", "kstack", "ustack", "ksym", "usym", "buf", "strftime", "ntop", "cgroup_path",
                "macaddr", "strerror", "syscall_name")
# calls that only send an event
EVENT_CALLS = ("system", "cat", "errorf", "warnf", "signal", "debugf")


def check(a: SemanticAnalyser, e: ast.Call) -> SType:
    """Type the call ``e`` (its name is in CHECKS, or it is the two-argument delete)."""
    if e.name == "delete":
        return _delete(a, e)
    return CHECKS[e.name](a, e)


def handles(e: ast.Call) -> bool:
    return e.name in CHECKS or (e.name == "delete" and len(e.args) == 2)
