"""``tinybpf feature probe [kernel] [full] [macros [prefix P]]``: bpftool's report of what this kernel offers.

The same sections, sentences, ``#define`` names and JSON keys as ``bpftool feature probe``; the answers come
from tinybpf's own probes (:mod:`tinybpf.features`), which load a program or create a map for each question.
"""
from __future__ import annotations

import argparse
from typing import Any, Optional

from tinybpf.cli.bpftool_words import Words, emit_json

KCONFIG = (
    "CONFIG_BPF", "CONFIG_BPF_SYSCALL", "CONFIG_HAVE_EBPF_JIT", "CONFIG_BPF_JIT", "CONFIG_BPF_JIT_ALWAYS_ON",
    "CONFIG_DEBUG_INFO_BTF", "CONFIG_DEBUG_INFO_BTF_MODULES", "CONFIG_CGROUPS", "CONFIG_CGROUP_BPF",
    "CONFIG_CGROUP_NET_CLASSID", "CONFIG_SOCK_CGROUP_DATA", "CONFIG_BPF_EVENTS", "CONFIG_KPROBE_EVENTS",
    "CONFIG_UPROBE_EVENTS", "CONFIG_TRACING", "CONFIG_FTRACE_SYSCALLS", "CONFIG_FUNCTION_ERROR_INJECTION",
    "CONFIG_BPF_KPROBE_OVERRIDE", "CONFIG_NET", "CONFIG_XDP_SOCKETS", "CONFIG_LWTUNNEL_BPF", "CONFIG_NET_ACT_BPF",
    "CONFIG_NET_CLS_BPF", "CONFIG_NET_CLS_ACT", "CONFIG_NET_SCH_INGRESS", "CONFIG_XFRM", "CONFIG_IP_ROUTE_CLASSID",
    "CONFIG_IPV6_SEG6_BPF", "CONFIG_BPF_LIRC_MODE2", "CONFIG_BPF_STREAM_PARSER", "CONFIG_NETFILTER_XT_MATCH_BPF",
    "CONFIG_BPFILTER", "CONFIG_BPFILTER_UMH", "CONFIG_TEST_BPF", "CONFIG_HZ",
)
"""The build options bpftool reports, in its order; only CONFIG_HZ becomes a macro."""

# sysctl -> (file, sentence per value); bpftool's wording
SYSCTLS = {
    "unprivileged_bpf_disabled": ("/proc/sys/kernel/unprivileged_bpf_disabled", {
        0: "bpf() syscall for unprivileged users is enabled", 1: "bpf() syscall restricted to privileged users",
        2: "bpf() syscall restricted to privileged users (admin can change)"}),
    "bpf_jit_enable": ("/proc/sys/net/core/bpf_jit_enable", {
        0: "JIT compiler is disabled", 1: "JIT compiler is enabled", 2: "JIT compiler is enabled with debugging traces in kernel logs"}),
    "bpf_jit_harden": ("/proc/sys/net/core/bpf_jit_harden", {
        0: "JIT compiler hardening is disabled", 1: "JIT compiler hardening is enabled for unprivileged users",
        2: "JIT compiler hardening is enabled for all users"}),
    "bpf_jit_kallsyms": ("/proc/sys/net/core/bpf_jit_kallsyms", {
        0: "JIT compiler kallsyms exports are disabled", 1: "JIT compiler kallsyms exports are enabled for root"}),
    "bpf_jit_limit": ("/proc/sys/net/core/bpf_jit_limit", {}),
}
NOISY_HELPERS = frozenset({"trace_printk", "trace_vprintk", "probe_write_user"})
"""Helpers bpftool leaves out unless ``full``: probing them writes to the kernel log."""

MISC = (  # (JSON key, sentence, macro)
    ("have_large_insn_limit", "Large program size limit", "LARGE_INSN_LIMIT"),
    ("have_bounded_loops", "Bounded loop support", "BOUNDED_LOOPS"),
    ("have_v2_isa_extension", "ISA extension v2", "V2_ISA_EXTENSION"),
    ("have_v3_isa_extension", "ISA extension v3", "V3_ISA_EXTENSION"),
)


FEATURE_USAGE = """
Usage: tinybpf feature probe [kernel] [full] [macros [prefix PREFIX]]
       tinybpf feature help

       OPTIONS := { {-j|--json} [{-p|--pretty}] }
"""


def register(sub: Any) -> None:
    parser = sub.add_parser("feature", help="probe what this kernel offers, in bpftool's layout", add_help=False)
    parser.add_argument("words", nargs=argparse.REMAINDER, help="probe [kernel] [full] [macros [prefix PREFIX]]")
    parser.set_defaults(handler=feature)


def _sysctl(path: str) -> Optional[int]:
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def feature(args: argparse.Namespace) -> int:
    from tinybpf import features as probe
    from tinybpf.asm.helpers import Helper
    from tinybpf.errors import NotSupported
    from tinybpf.kernel.constants import MapType, ProgType
    from tinybpf.kernel.kconfig import kernel_config
    from tinybpf.kernel.sysinfo import is_root

    words = Words("feature", list(args.words))
    verb = words.verb(FEATURE_USAGE)
    if verb is None:
        return 0
    if verb != "probe":
        raise words.fail("the only verb is probe", "tinybpf feature probe [kernel] [full] [macros]")
    full = macros = False
    prefix = ""
    while words:
        word = words.take("an option")
        if word == "kernel":
            continue
        if word == "full":
            full = True
        elif word == "macros":
            macros = True
            if words.accept("prefix"):
                prefix = words.take("a macro prefix")
        else:
            raise words.fail(f"unknown option {word!r}", "options: kernel, full, macros [prefix PREFIX]")
    if not is_root():
        raise NotSupported("feature probing", "needs root (CAP_BPF/CAP_SYS_ADMIN)")
    config = kernel_config() or {}
    sysctls = {name: _sysctl(path) for name, (path, _) in SYSCTLS.items()}
    progs = {t.name.lower(): bool(probe.prog_type(t)) for t in ProgType if t != ProgType.UNSPEC}
    maps = {t.name.lower(): bool(probe.map_type(t)) for t in MapType if t != MapType.UNSPEC}
    helpers = {}
    for t in ProgType:
        if t == ProgType.UNSPEC:
            continue
        found = {Helper(h).name for h in probe.helpers_of(t)}
        helpers[t.name.lower()] = [(f"bpf_{h.name}", h.name in found) for h in Helper
                                   if h and (full or h.name not in NOISY_HELPERS)]
    misc = dict(zip((key for key, _, _ in MISC), probe.misc_features()))
    if args.json:
        system: dict[str, Any] = {name: (-1 if value is None else value) for name, value in sysctls.items()}
        system.update({name: config.get(name) for name in KCONFIG})
        emit_json({
            "system_config": system, "syscall_config": {"have_bpf_syscall": True},
            "program_types": {f"have_{name}_prog_type": ok for name, ok in progs.items()},
            "map_types": {f"have_{name}_map_type": ok for name, ok in maps.items()},
            "helpers": {f"{name}_available_helpers": [h for h, ok in found if ok] for name, found in helpers.items()},
            "misc": misc,
        }, args.pretty)
        return 0
    out = _macros(prefix, config, progs, maps, helpers, misc) if macros else \
        _plain(sysctls, config, progs, maps, helpers, misc)
    print("\n".join(out))
    return 0


def _plain(sysctls: dict[str, Optional[int]], config: dict[str, str], progs: dict[str, bool],
           maps: dict[str, bool], helpers: dict[str, list[tuple[str, bool]]], misc: dict[str, bool]) -> list[str]:
    out = ["Scanning system configuration..."]
    for name, (_, sentences) in SYSCTLS.items():
        value = sysctls[name]
        if name == "bpf_jit_limit":
            out.append("Unable to retrieve global memory limit for JIT compiler for unprivileged users" if value is None
                       else f"Global memory limit for JIT compiler for unprivileged users is {value} bytes")
        elif value is None:
            out.append(f"Unable to retrieve {name} setting")
        else:
            out.append(sentences.get(value, f"{name} is set to unknown value {value}"))
    for name in KCONFIG:
        out.append(f"{name} is set to {config[name]}" if name in config else f"{name} is not set")
    out += ["", "Scanning system call availability...", "bpf() syscall is available", "",
            "Scanning eBPF program types..."]
    out += [f"eBPF program_type {name} is {'' if ok else 'NOT '}available" for name, ok in progs.items()]
    out += ["", "Scanning eBPF map types..."]
    out += [f"eBPF map_type {name} is {'' if ok else 'NOT '}available" for name, ok in maps.items()]
    out += ["", "Scanning eBPF helper functions..."]
    for name, found in helpers.items():
        out.append(f"eBPF helpers supported for program type {name}:")
        if not progs[name]:
            out.append("\tProgram type not supported")
        elif not any(ok for _, ok in found):
            out.append("\tCould not determine which helpers are available")
        out += [f"\t- {helper}" for helper, ok in found if ok]
    out += ["", "Scanning miscellaneous eBPF features..."]
    out += [f"{sentence} is {'' if misc[key] else 'NOT '}available" for key, sentence, _ in MISC]
    return [*out, ""]


def _macros(prefix: str, config: dict[str, str], progs: dict[str, bool], maps: dict[str, bool],
            helpers: dict[str, list[tuple[str, bool]]], misc: dict[str, bool]) -> list[str]:
    def have(ok: bool, name: str) -> str:
        return f"#define {prefix}{'' if ok else 'NO_'}HAVE_{name}"

    hz = config.get("CONFIG_HZ")
    out = ["/*** Misc kernel config items ***/",
           f"#define {prefix}CONFIG_HZ {hz}" if hz else f"/* {prefix}CONFIG_HZ is not set */", "",
           "/*** System call availability ***/", have(True, "BPF_SYSCALL"), "", "/*** eBPF program types ***/"]
    out += [have(ok, f"{name.upper()}_PROG_TYPE") for name, ok in progs.items()]
    out += ["", "/*** eBPF map types ***/"]
    out += [have(ok, f"{name.upper()}_MAP_TYPE") for name, ok in maps.items()]
    out += ["", "/*** eBPF helper functions ***/", "/*",
            f" * Use {prefix}HAVE_PROG_TYPE_HELPER(prog_type_name, helper_name)",
            " * to determine if <helper_name> is available for <prog_type_name>,", " * e.g.",
            f" *\t#if {prefix}HAVE_PROG_TYPE_HELPER(xdp, bpf_redirect)", " *\t\t// do stuff with this helper",
            " *\t#elif", " *\t\t// use a workaround", " *\t#endif", " */",
            f"#define {prefix}HAVE_PROG_TYPE_HELPER(prog_type, helper)\t\\",
            f"\t{prefix}BPF__PROG_TYPE_ ## prog_type ## __HELPER_ ## helper"]
    for name, found in helpers.items():
        out += [f"#define {prefix}BPF__PROG_TYPE_{name}__HELPER_{helper} {int(ok)}" for helper, ok in found]
    out += ["", "/*** eBPF misc features ***/"]
    out += [have(misc[key], macro) for key, _, macro in MISC]
    return [*out, ""]


__all__ = ["feature", "register"]
