"""Live BPF programs: load with the verifier log on failure, test-run, inspect, pin.

Loading first runs without a log (the fast path); only when the verifier rejects the program is it
loaded again with a log, grown until the log fits, so the error can show the verifier's reason and
the failing instruction.
"""
from __future__ import annotations

import ctypes
import dataclasses
import re
from typing import Any, Optional, Union

from .errors import BPFError, TinyBPFError, VerifierError
from .kernel import commands
from .kernel.attrs import PROG_INFO
from .kernel.constants import AttachType, Cmd, ProgType, StatsType
from .kernel.fd import FD
from .kernel.syscall import ENOTSUPP, command_name, hint_for
from .kernel.sysinfo import kernel_version_code
from .spec import ProgramSpec

EACCES, EINVAL, ENOSPC = 13, 22, 28
LOG_START = 1 << 16
LOG_MAX = 1 << 30 - 2  # the kernel's UINT_MAX >> 2 limit, rounded down

# Program types whose load needs ``kern_version`` on old kernels (kprobes before 5.0).
_NEEDS_KERN_VERSION = frozenset({ProgType.KPROBE})

_INSN_LINE = re.compile(r"^(\d+): \([0-9a-f]{2}\)")
_STATS_LINE = re.compile(r"^(processed \d+ insns|verification time|stack depth|mark_precise|from \d+ to \d+)")


@dataclasses.dataclass(frozen=True)
class TestRunResult:
    """What BPF_PROG_TEST_RUN returned: the program's r0, output packet/context, mean run time."""

    retval: int
    duration_ns: int
    data: bytes = b""
    ctx: bytes = b""


@dataclasses.dataclass(frozen=True)
class ProgramInfo:
    """What BPF_OBJ_GET_INFO_BY_FD says about a program."""

    id: int
    type: Union[ProgType, int]
    name: str
    tag: str
    xlated_len: int
    jited_len: int
    load_time: int
    uid: int
    map_ids: tuple[int, ...]
    btf_id: int
    run_time_ns: int
    run_cnt: int
    verified_insns: int
    gpl_compatible: bool

    @property
    def type_name(self) -> str:
        """bpftool's spelling: ``socket_filter``, ``tracepoint``, ``xdp``."""
        return self.type.name.lower() if isinstance(self.type, ProgType) else f"type {self.type}"


def encode_instructions(instructions: Any) -> bytes:
    """Bytes for the kernel from bytes, an ``Instructions`` or a list of ``Instruction``."""
    if isinstance(instructions, (bytes, bytearray, memoryview)):
        data = bytes(instructions)
    elif hasattr(instructions, "encode"):
        data = instructions.encode()
    else:
        from .asm import Instructions

        data = Instructions(instructions).encode()
    if not data or len(data) % 8:
        raise TinyBPFError(f"a program is a non-empty multiple of 8 bytes, got {len(data)}")
    return data


def summarize_verifier_log(log: str) -> tuple[str, Optional[int], str]:
    """(reason, failing instruction index, C source line) from a verifier log.

    The reason is the last line that is not statistics; the instruction is the last ``N: (op)``
    line before it; the source line is the last ``; ...`` line (present when line_info was given).
    """
    lines = [line.rstrip() for line in log.splitlines() if line.strip()]
    reason, insn, source = "", None, ""
    end = len(lines)
    for i in range(len(lines) - 1, -1, -1):
        if not _STATS_LINE.match(lines[i]):
            reason, end = lines[i], i
            break
    for line in reversed(lines[:end + 1]):
        match = _INSN_LINE.match(line)
        if match:
            insn = int(match.group(1))
            break
    for line in reversed(lines[:end + 1]):
        if line.startswith("; "):
            source = line[2:].strip()
            break
    return reason, insn, source


class Program:
    """A loaded BPF program."""

    def __init__(self, fd: FD, name: str = "", prog_type: Union[ProgType, int] = ProgType.UNSPEC,
                 verifier_log: str = "") -> None:
        self._fd = fd
        self.name = name
        self.type = prog_type
        self.verifier_log = verifier_log

    @classmethod
    def load(
        cls,
        prog_type: Union[ProgType, int],
        instructions: Any,
        *,
        name: str = "",
        license: str = "GPL",
        expected_attach_type: Optional[Union[AttachType, int]] = None,
        kernel_version: int = 0,
        flags: int = 0,
        log_level: int = 0,
        attach_btf_id: int = 0,
        attach_prog_fd: int = 0,
        btf_fd: int = 0,
        func_info: bytes = b"",
        func_info_rec_size: int = 0,
        line_info: bytes = b"",
        line_info_rec_size: int = 0,
        ifindex: int = 0,
        log_size: int = 0,
    ) -> Program:
        """Load ``instructions``; ``log_level`` > 0 keeps the verifier log of a successful load too.

        ``log_size`` fixes the log buffer (the load fails with ENOSPC when the log does not fit); by default
        the buffer grows until the log fits.

        Raises ``VerifierError`` (with ``.log``) when the verifier rejects the program.
        """
        prog_type = ProgType(prog_type) if prog_type in ProgType._value2member_map_ else prog_type
        code = encode_instructions(instructions)
        if not kernel_version and prog_type in _NEEDS_KERN_VERSION:
            kernel_version = kernel_version_code()
        args = dict(
            prog_type=int(prog_type), insns=code, license=license.encode(), name=name.encode()[:15],
            expected_attach_type=int(expected_attach_type or 0), kern_version=kernel_version,
            prog_flags=flags, prog_btf_fd=btf_fd, func_info=func_info, func_info_rec_size=func_info_rec_size,
            line_info=line_info, line_info_rec_size=line_info_rec_size, attach_btf_id=attach_btf_id,
            attach_prog_fd=attach_prog_fd, ifindex=ifindex,
        )
        log = ""
        if log_level:
            fd, err, log = _load_with_log(args, log_level, log_size)
        else:
            fd, err, _ = commands.prog_load(**args)  # type: ignore[arg-type]
            if fd < 0 and err in (EACCES, EINVAL, ENOSPC):
                _, err, log = _load_with_log(args, 1)
        if fd < 0 and err == ENOTSUPP and _has_atomics(code):
            raise BPFError(command_name(Cmd.PROG_LOAD), err, "the JIT of this architecture (32-bit ARM) has no "
                           "BPF_ATOMIC: use per-CPU maps, or the interpreter (sysctl net.core.bpf_jit_enable=0)",
                           f"cannot load program {name!r}: the kernel cannot compile its atomic instructions")
        if fd < 0:
            raise _load_error(name, prog_type, err, log)
        return cls(FD(fd), name, prog_type, log)

    @classmethod
    def from_spec(cls, spec: ProgramSpec, **kwargs: Any) -> Program:
        return cls.load(
            spec.type, spec.instructions, name=spec.name, license=spec.license,
            expected_attach_type=spec.expected_attach_type, kernel_version=spec.kernel_version,
            flags=spec.flags, attach_btf_id=spec.attach_btf_id, **kwargs,
        )

    @classmethod
    def from_fd(cls, fd: int) -> Program:
        """Wrap a raw program descriptor; the Program takes ownership of it."""
        info = program_info(fd)
        return cls(FD(fd), info.name, info.type)

    @classmethod
    def from_pin(cls, path: str) -> Program:
        return cls.from_fd(commands.obj_get(path))

    @classmethod
    def from_id(cls, prog_id: int) -> Program:
        return cls.from_fd(commands.get_fd_by_id(Cmd.PROG_GET_FD_BY_ID, prog_id))

    @property
    def fd(self) -> int:
        return self._fd.fd

    def close(self) -> None:
        self._fd.close()

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        kind = self.type.name.lower() if isinstance(self.type, ProgType) else self.type
        return f"Program({kind}, name={self.name!r})"

    def pin(self, path: str) -> None:
        commands.obj_pin(self.fd, path)

    def info(self) -> ProgramInfo:
        return program_info(self.fd)

    def xlated(self) -> bytes:
        """The instructions as the kernel keeps them after verification (what `prog dump` shows)."""
        return program_xlated(self.fd)

    def test_run(
        self,
        data: Union[bytes, bytearray] = b"",
        ctx: Optional[Union[bytes, bytearray]] = None,
        repeat: int = 1,
        data_out_size: Optional[int] = None,
        ctx_out_size: int = 0,
        flags: int = 0,
        cpu: int = 0,
    ) -> TestRunResult:
        """Run the program in the kernel on ``data`` (a packet) and/or ``ctx`` with BPF_PROG_TEST_RUN."""
        out_size = len(data) + 256 if data_out_size is None and data else (data_out_size or 0)
        retval, duration, out, ctx_out = commands.prog_test_run(
            self.fd, data, ctx, repeat, out_size, ctx_out_size, flags, cpu
        )
        return TestRunResult(retval, duration, out, ctx_out)


def _load_with_log(args: dict[str, Any], level: int, fixed_size: int = 0) -> tuple[int, int, str]:
    size = fixed_size or LOG_START
    while True:
        buf = ctypes.create_string_buffer(size)
        fd, err, true_size = commands.prog_load(log_level=level, log_buf=buf, **args)
        if fd < 0 and err == ENOSPC and size < LOG_MAX and not fixed_size:
            size = max(size * 4, true_size + 1) if true_size > size else size * 4
            continue
        return fd, err, buf.value.decode(errors="replace")


_ATOMIC_OPCODES = frozenset({0xC3, 0xDB})  # BPF_STX | BPF_ATOMIC | BPF_W or BPF_DW


def _has_atomics(code: bytes) -> bool:
    return any(opcode in _ATOMIC_OPCODES for opcode in code[0::8])


def _load_error(name: str, prog_type: Union[ProgType, int], err: int, log: str) -> BPFError:
    if log and err in (EACCES, EINVAL, ENOSPC, 7):
        reason, insn, source = summarize_verifier_log(log)
        return VerifierError(name, err, log, insn, reason, source)
    kind = prog_type.name.lower() if isinstance(prog_type, ProgType) else f"type {prog_type}"
    return BPFError(command_name(Cmd.PROG_LOAD), err, hint_for(Cmd.PROG_LOAD, err),
                    f"cannot load {kind} program {name!r}")


def program_info(fd: int) -> ProgramInfo:
    first = commands.read_info(fd, PROG_INFO)
    nr_maps = int(first["nr_map_ids"])  # type: ignore[call-overload]
    map_ids: tuple[int, ...] = ()
    if nr_maps:
        ids = (ctypes.c_uint32 * nr_maps)()
        raw = commands.read_info(fd, PROG_INFO, preset={"map_ids": ctypes.addressof(ids), "nr_map_ids": nr_maps})
        map_ids = tuple(ids[: int(raw["nr_map_ids"])])  # type: ignore[call-overload]
    kind = int(first["type"])  # type: ignore[call-overload]
    return ProgramInfo(
        id=int(first["id"]),  # type: ignore[call-overload]
        type=ProgType(kind) if kind in ProgType._value2member_map_ else kind,
        name=bytes(first["name"]).rstrip(b"\0").decode(errors="replace"),  # type: ignore[call-overload]
        tag=bytes(first["tag"]).hex(),  # type: ignore[call-overload]
        xlated_len=int(first["xlated_prog_len"]),  # type: ignore[call-overload]
        jited_len=int(first["jited_prog_len"]),  # type: ignore[call-overload]
        load_time=int(first["load_time"]),  # type: ignore[call-overload]
        uid=int(first["created_by_uid"]),  # type: ignore[call-overload]
        map_ids=map_ids,
        btf_id=int(first["btf_id"]),  # type: ignore[call-overload]
        run_time_ns=int(first["run_time_ns"]),  # type: ignore[call-overload]
        run_cnt=int(first["run_cnt"]),  # type: ignore[call-overload]
        verified_insns=int(first["verified_insns"]),  # type: ignore[call-overload]
        gpl_compatible=bool(int(first["gpl_compatible"]) & 1),  # type: ignore[call-overload]
    )


def program_xlated(fd: int) -> bytes:
    size = int(commands.read_info(fd, PROG_INFO)["xlated_prog_len"])  # type: ignore[call-overload]
    if not size:
        return b""
    buf = ctypes.create_string_buffer(size)
    commands.read_info(fd, PROG_INFO, preset={"xlated_prog_insns": ctypes.addressof(buf), "xlated_prog_len": size})
    return buf.raw


def enable_run_stats() -> FD:
    """Count run_cnt/run_time_ns of every program (BPF_ENABLE_STATS) until the returned FD is closed.

    The kernel.bpf_stats_enabled sysctl does the same system-wide; this way nothing stays on
    after the process exits.
    """
    return FD(commands.enable_stats(StatsType.RUN_TIME))


def list_program_ids() -> list[int]:
    """Ids of every program loaded in the kernel."""
    return commands.list_ids(Cmd.PROG_GET_NEXT_ID)
