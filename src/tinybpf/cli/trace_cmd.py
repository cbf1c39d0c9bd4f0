"""``tinybpf trace``: run a bpftrace script, with bpftrace's command-line flags.

Script errors print as bpftrace prints them (``stdin:1:9-12: ERROR: ...``, the line, a ``~`` marker) and
exit 1. Everything else is imported only when the command runs.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import Any, NoReturn, Optional, TextIO


def register(sub: Any) -> None:
    p = sub.add_parser("trace", help="run a bpftrace program (-e 'PROGRAM' or a FILE)",
                       description="Compile and run a bpftrace script.", add_help=False)
    p.add_argument("-h", "--help", action="store_true", dest="help", help="show the usage text")
    p.add_argument("-V", "--version", action="store_true", help="print the version")
    p.add_argument("--info", action="store_true", help="what this kernel supports")
    p.add_argument("-l", dest="list", nargs="?", const="", metavar="PATTERN", help="list probes (matching PATTERN)")
    p.add_argument("-e", dest="program", metavar="PROGRAM", help="the program text")
    p.add_argument("-p", "--pid", dest="pid", type=_pid, default=0, metavar="PID", help="trace only this process")
    p.add_argument("-c", "--cmd", dest="command", metavar="CMD", help="run CMD and trace until it exits")
    p.add_argument("-o", "--output", dest="output", metavar="FILE", help="write the output to FILE")
    p.add_argument("-f", dest="format", default="text", metavar="FORMAT", help="output format (text, json)")
    p.add_argument("-q", "--quiet", dest="quiet", action="store_true", help="no banner")
    p.add_argument("-v", dest="verbose", action="store_true",
                   help="print the generated instructions and verifier statistics")
    p.add_argument("-d", dest="debug", action="store_true", help="dump the AST, IR and instructions; do not run")
    p.add_argument("--dry-run", dest="dry_run", action="store_true", help="load and attach, then detach: nothing runs")
    p.add_argument("-B", dest="buffering", choices=("line", "full", "none"), help="output buffering")
    p.add_argument("--unsafe", action="store_true", help="allow unsafe builtins")
    p.add_argument("-k", dest="warn_helpers", action="count", default=0, help="warn on helper errors (map lookups that find nothing)")
    p.add_argument("--debuginfo", dest="debuginfo", action="append", default=[], metavar="DIR",
                   help="a directory of separate debug files for uprobe targets (repeatable)")
    p.add_argument("--btf", metavar="FILE", help="the kernel's raw BTF, for kernels without /sys/kernel/btf/vmlinux")
    p.add_argument("--no-warnings", dest="no_warnings", action="store_true", help="no warning messages")
    p.add_argument("-I", dest="include_dirs", action="append", default=[], metavar="DIR", help="include path")
    p.add_argument("--include", dest="includes", action="append", default=[], metavar="FILE",
                   help="#include FILE first (a file of your own is read for its #defines and structs)")
    p.add_argument("--mode", default="run", choices=("run", "bench", "test", "format"), help="what to do")
    p.add_argument("--probe-filter", dest="probe_filter", metavar="REGEX",
                   help="attach only the probes whose name matches REGEX")
    p.add_argument("--usdt-file-activation", action="store_true",
                   help="activate USDT semaphores in every process mapping the file (always so: the kernel "
                        "counts them through the uprobe's ref_ctr_offset)")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="FILE|ARGS",
                   help="a script file (without -e), then the script's positional parameters")
    p.error = _usage_error
    p.set_defaults(handler=trace, usage_error=_usage_error)


def _pid(text: str) -> int:
    """``-p``: bpftrace's checks and words (an unsigned decimal, at most the 64-bit ``pid_max``)."""
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0:
        _fail(f"Failed to parse pid: invalid integer: {text}")
    if digits < len(text):
        _fail(f"Failed to parse pid: invalid trailing bytes: {text}")
    if int(text) > _PID_MAX:
        _fail(f"Pid out of range: {int(text)}")
    if int(text) == 0:  # no process has pid 0: bpftrace 0.17's words
        _fail(f"pid '{text}' out of valid pid range [1,{_PID_MAX}]")
    return int(text)


_PID_MAX = 0x400000
"""The largest ``pid_max`` a 64-bit kernel allows."""

_LATE_FLAGS = {"--no-warnings": "no_warnings", "-q": "quiet", "--quiet": "quiet", "--unsafe": "unsafe",
               "-v": "verbose", "--dry-run": "dry_run", "--usdt-file-activation": "usdt_file_activation"}
"""Flags bpftrace (getopt) still reads after the script file: everything before a ``--``."""


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"ERROR: {message}\n")
    raise SystemExit(1)


def _usage_error(message: str) -> NoReturn:
    """A bad flag: bpftrace's ``ERROR:`` line and its usage text, exit 1."""
    from tinybpf.trace.runtime.info import USAGE

    sys.stderr.write(f"ERROR: {message}\n{USAGE}")
    raise SystemExit(1)


def trace(args: argparse.Namespace) -> int:
    if args.btf:
        os.environ["BPFTRACE_BTF"] = args.btf  # read where the kernel's BTF is, by this process and its helpers
    early = _informational(args)
    if early is not None:
        return early
    from tinybpf.kernel.sysinfo import can_trace

    if not can_trace():
        _fail("tinybpf trace needs root: run it as the root user (it loads BPF programs and reads tracefs; "
              "CAP_BPF, CAP_PERFMON and CAP_DAC_READ_SEARCH are enough)")
    rest: list[str] = list(args.args)
    if args.list is not None:  # -l PATTERN --debuginfo DIR: the pattern starts argparse's remainder
        rest = _take_debuginfo(rest, args.debuginfo)
    if args.debuginfo:
        from tinybpf.trace.semantics import uprobe_args

        uprobe_args.DEBUGINFO_DIRS.extend(args.debuginfo)
    rest = _late_flags(rest, args)
    if args.list == "v":  # -lv: argparse reads the v as -l's pattern
        args.list, args.verbose = "", True
    if args.list is not None and args.program is None:
        pattern = args.list or (rest.pop(0) if rest else "")
        if not os.path.exists(pattern):
            return _list(pattern, args)
        rest.insert(0, pattern)
    if args.program is not None:
        source, filename = args.program, "stdin"
    elif rest:
        source, filename = _read_script(rest.pop(0))
    else:
        _usage_error("No program specified")
    from tinybpf.trace.syntax.diagnostics import TraceError

    try:
        if args.list is not None:
            return _list_program(source, filename, rest, args)
        return _run(args, source, filename, rest)
    except TraceError as exc:
        sys.stderr.write(exc.render())
        return 1


def _late_flags(rest: list[str], args: argparse.Namespace) -> list[str]:
    """The script's parameters, without the bpftrace flags given after the script file (getopt takes them
    there too: ``script.bt -p PID``) and the ``--`` that ends the flags."""
    params: list[str] = []
    words = iter(rest)
    for word in words:
        if word == "--":
            params.extend(words)
        elif word in ("-p", "--pid"):
            args.pid = _pid(next(words, ""))
        elif word in ("-c", "--cmd"):
            args.command = next(words, "")
        elif word in _LATE_FLAGS:
            setattr(args, _LATE_FLAGS[word], True)
        else:
            params.append(word)
    return params


def _read_script(filename: str) -> tuple[str, str]:
    """(source, name for diagnostics); ``-`` reads the program from stdin. Bytes that are not UTF-8 are
    kept as they are, as ``-e`` keeps them (the arguments' own decoding)."""
    if filename == "-":
        return sys.stdin.buffer.read().decode("utf-8", "surrogateescape"), "stdin"
    try:
        with open(filename, encoding="utf-8", errors="surrogateescape") as f:
            return f.read(), filename
    except OSError as exc:
        _fail(f"failed to open file '{filename}': {exc.strerror}")


def _take_debuginfo(rest: list[str], dirs: list[str]) -> list[str]:
    """``rest`` without its ``--debuginfo DIR`` options, whose directories go to ``dirs``."""
    kept: list[str] = []
    items = iter(rest)
    for item in items:
        if item.startswith("--debuginfo="):
            dirs.append(item.partition("=")[2])
        elif item == "--debuginfo":
            dirs.append(next(items, ""))
        else:
            kept.append(item)
    return kept


def _informational(args: argparse.Namespace) -> Optional[int]:
    """-h, -V, --info and flag values checked before anything compiles."""
    from tinybpf.trace.runtime import info

    if args.help:
        sys.stdout.write(info.USAGE)
        return 0
    if args.version:
        sys.stdout.write(info.VERSION + "\n")
        return 0
    if args.info:
        sys.stdout.write(info.info_text())
        return 0
    if args.format not in ("text", "json"):
        sys.stderr.write(f"ERROR: Invalid output format \"{args.format}\"\nValid formats: 'text', 'json'\n")
        return 1
    if args.mode not in ("run", "bench"):
        sys.stderr.write(f"ERROR: --mode {args.mode} is not supported by tinybpf trace\n")
        return 1
    return None


def _list(pattern: str, args: argparse.Namespace) -> int:
    from tinybpf.trace.runtime.listing import list_probes, list_process_probes

    if "." in pattern and not any(char in pattern for char in ":*"):
        sys.stderr.write(f"WARNING: It appears that '{pattern}' is a filename but the file does not exist. "
                         f"Treating '{pattern}' as a search pattern.\n")
    lines = list_process_probes(args.pid, pattern) if args.pid else list_probes(pattern, args.verbose)
    for line in lines:
        sys.stdout.write(line + "\n")
    return 0


def _list_program(source: str, filename: str, params: list[str], args: argparse.Namespace) -> int:
    from tinybpf.trace.compiler import program_probe_names
    from tinybpf.trace.runtime.listing import list_probes

    for name in program_probe_names(source, filename, params, args.pid):
        lines = list(list_probes(name, args.verbose)) if args.verbose else [name]
        for line in lines:
            sys.stdout.write(line + "\n")
    return 0


def _run(args: argparse.Namespace, source: str, filename: str, params: list[str]) -> int:
    from tinybpf.kernel.procfs import set_own_argv0, set_own_comm
    from tinybpf.trace.compiler import Options, compile_trace
    from tinybpf.trace.runtime.probes import AttachRefused
    from tinybpf.trace.semantics.program_options import ProgramOptionError, split_arguments
    from tinybpf.trace.syntax.includes import MissingHeader

    set_own_comm("tinybpf")  # its own name, not the interpreter's: scripts filter the tracer out by comm
    set_own_argv0("tinybpf")  # and pidof finds it by that name, never as another program
    command = _command(args.command) if args.command is not None else None
    if args.pid:
        _check_pid(args.pid)
    params, named = split_arguments(params)
    options = Options(params=params, named=named, pid=args.pid, has_child=command is not None, probe_filter=args.probe_filter,
                      unsafe=args.unsafe, include_dirs=args.include_dirs, includes=args.includes,
                      helper_warnings=bool(args.warn_helpers))
    try:
        compiled = compile_trace(source, filename, options)
    except (ProgramOptionError, MissingHeader) as exc:
        sys.stderr.write(str(exc.message if hasattr(exc, "message") else exc) + "\n")
        return 1
    except AttachRefused as exc:
        sys.stderr.write(f"ERROR: {exc.message}\n")
        return 1
    if not args.no_warnings:
        for warning in compiled.warnings:
            sys.stderr.write(warning + "\n")
    if args.debug:
        _dump(compiled)
        return 0
    out = _output(args)
    from tinybpf.trace.runtime.child import STOP_SIGNALS, Child
    from tinybpf.trace.runtime.session import run_trace

    # held until the runtime's handlers are in place (it unblocks them): none is lost, none interrupts
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    child = Child(*command) if command is not None else None
    try:
        return run_trace(compiled, out, sys.stderr, output_format=args.format, quiet=args.quiet, pid=args.pid,
                         child=child, verbose=args.verbose, warnings=not args.no_warnings,
                         bench=args.mode == "bench", dry_run=args.dry_run)
    finally:
        if out is not sys.stdout:
            out.close()


def _command(text: str) -> tuple[str, list[str]]:
    """``-c``, checked before anything compiles or attaches."""
    from tinybpf.trace.runtime.child import CommandError, resolve_command

    try:
        return resolve_command(text)
    except CommandError as exc:
        _fail(f"Failed to fork child: {exc}")


def _check_pid(pid: int) -> None:
    """``-p`` of a process that does not exist: bpftrace's error, before anything attaches."""
    from tinybpf.kernel.syscall import pidfd_open

    try:
        os.close(pidfd_open(pid))
    except OSError as exc:
        _fail(f"Failed to attach to pid: Unable to open pidfd ({exc.strerror})")


def _output(args: argparse.Namespace) -> TextIO:
    if args.output:
        return open(args.output, "w", buffering=1)
    if args.buffering == "full":
        sys.stdout.reconfigure(line_buffering=False)  # type: ignore[union-attr]
    elif args.buffering in ("line", "none") or args.buffering is None:
        sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    return sys.stdout


def _dump(compiled: Any) -> None:
    from tinybpf.trace.syntax import ast

    analysis = compiled.analysis
    out = sys.stdout
    out.write(ast.dump(analysis.program, lambda e: str(analysis.type_of(e))))
    out.write("\nmaps:\n")
    for layout in compiled.maps.values():
        out.write(f"  {layout.name}: {layout.map_type.name.lower()} key {layout.key} ({layout.key_size} B) "
                  f"value {layout.value} ({layout.value_size} B) x {layout.max_entries}\n")
    out.write("events:\n")
    for number, event in enumerate(compiled.events):
        out.write(f"  {number}: {event.kind} {event.text!r} {event.map} size {event.size}\n")
    for program in compiled.programs:
        targets = ", ".join(t.name for t in program.targets)
        out.write(f"\nprogram {program.name} ({program.prog_type.name.lower()}) on {targets}: "
                  f"{program.instructions.slots} instructions, {program.stack_size} stack bytes\n")
        out.write(str(program.instructions) + "\n")
