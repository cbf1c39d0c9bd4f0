"""``tinybpf trace --info`` and ``--help``: bpftrace's texts, with what this kernel supports found by probing.

The ``--info`` lines use bpftrace's words (``Loop support: yes``, ``send_signal: yes``, ``kfunc: no``...)
because scripts and test suites grep them to decide what to run.
"""
from __future__ import annotations

import os
import platform

from tinybpf import __version__

VERSION = f"bpftrace v{__version__} (tinybpf trace)"

USAGE = """USAGE:
    tinybpf trace [options] filename
    tinybpf trace [options] -e 'program'

OPTIONS:
    -B MODE        output buffering mode ('full', 'none')
    -f FORMAT      output format ('text', 'json')
    -o file        redirect bpftrace output to file
    -e 'program'   execute this program
    -h, --help     show this help message
    -I DIR         add the directory to the include search path
    --include FILE add an #include file before preprocessing
    -l [search|filename]
                   list kernel probes or probes in a program
    -p, --pid PID  filter actions and enable USDT probes on PID
    -c, --cmd CMD  run CMD and enable USDT probes on resulting process
    --unsafe       allow unsafe/destructive functionality
    -q, --quiet    keep messages quiet
    --info         Print information about kernel BPF support
    -k             emit a warning when probe read helpers return an error
    -V, --version  bpftrace version
    --no-warnings  disable all warning messages
    --probe-filter REGEX
                   only attach the probes whose name matches REGEX (BEGIN/END always run)
    --dry-run      load and attach the program, then detach it: nothing runs
    -v             verbose messages
    -d             (dry run) debug info

ENVIRONMENT:
    BPFTRACE_MAX_STRLEN         [default: 64] bytes on BPF stack per str()
    BPFTRACE_MAP_KEYS_MAX       [default: 4096] max keys in a map
    BPFTRACE_CAT_BYTES_MAX      [default: 10k] maximum bytes read by cat builtin
    BPFTRACE_STACK_MODE         [default: bpftrace] output format for ustack and kstack builtins

EXAMPLES:
tinybpf trace -l '*sleep*'
    list probes containing "sleep"
tinybpf trace -e 'tracepoint:syscalls:sys_enter_nanosleep { printf("PID %d sleeping...\\n", pid); }'
    trace processes calling sleep
tinybpf trace -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
    count syscalls by process name
"""


_HELPER_NAMES = {"get_boot_ns": "ktime_get_boot_ns", "dpath": "d_path", "skboutput": "skb_output",
                 "get_tai_ns": "ktime_get_tai_ns"}


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def info_text() -> str:
    """The ``--info`` report."""
    from tinybpf import features
    from tinybpf.asm.helpers import helper_id
    from tinybpf.kernel.constants import MapType, ProgType

    def helper(name: str) -> bool:
        try:
            return features.helper(ProgType.KPROBE, helper_id(_HELPER_NAMES.get(name, name)))
        except Exception:
            return False

    def attach(kind: str) -> bool:
        try:
            return bool(features.attach_kind(kind))
        except Exception:
            return False

    def map_type(kind: MapType) -> bool:
        try:
            return bool(features.map_type(kind))
        except Exception:
            return False

    release = os.uname()
    lines = [
        "System",
        f"  OS: {release.sysname} {release.release} {release.version}",
        f"  Arch: {platform.machine()}",
        "",
        "Build",
        f"  version: v{__version__}",
        "  LLVM: none (tinybpf trace)",
        "  unsafe probe: no",
        "  bfd: no",
        "  libdw (DWARF support): no",
        "",
        "Kernel helpers",
    ]
    for name in ("probe_read", "probe_read_str", "probe_read_user", "probe_read_user_str", "probe_read_kernel",
                 "probe_read_kernel_str", "get_current_cgroup_id", "send_signal", "override_return",
                 "get_boot_ns", "dpath", "skboutput", "get_tai_ns", "get_func_ip", "jiffies64"):
        lines.append(f"  {name}: {_yes(helper(name))}")
    lines += ["", "Kernel features", "  Instruction limit: 1000000", "  Loop support: yes", "  btf: yes",
              "  map batch: yes", "  uprobe refcount (depends on Build:bcc bpf_attach_uprobe refcount): yes", "",
              "Map types"]
    for label, kind in (("hash", MapType.HASH), ("percpu hash", MapType.PERCPU_HASH), ("array", MapType.ARRAY),
                        ("percpu array", MapType.PERCPU_ARRAY), ("stack_trace", MapType.STACK_TRACE),
                        ("perf_event_array", MapType.PERF_EVENT_ARRAY), ("ringbuf", MapType.RINGBUF)):
        lines.append(f"  {label}: {_yes(map_type(kind))}")
    lines += ["", "Probe types",
              f"  kprobe: {_yes(attach('kprobe'))}",
              f"  tracepoint: {_yes(attach('tracepoint'))}",
              f"  perf_event: {_yes(attach('software'))}",
              f"  fentry: {_yes(attach('fentry'))}",
              f"  kfunc: {_yes(attach('fentry'))}",
              "  kprobe_multi: no",
              "  uprobe_multi: no",
              "  kprobe_session: no",
              f"  raw_tp_special: {_yes(attach('raw_tracepoint'))}",
              "  iter: no", ""]
    return "\n".join(lines)
