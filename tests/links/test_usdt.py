"""USDT probes on the committed test binary: every hit is seen with its arguments, semaphores count tracers."""
from __future__ import annotations

import platform
import struct
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tinybpf.asm import (
    R0,
    R1,
    R2,
    R3,
    R4,
    R6,
    R10,
    ALUOp,
    Instruction,
    Instructions,
    JumpOp,
    Size,
    alu64,
    atomic_add,
    call,
    exit_,
    jmp,
    label,
    ld_imm64,
    ld_map_fd,
    ldx,
    mov64,
    st,
    stx,
)
from tinybpf.elf.usdt import ArgKind, UsdtArgument, find_probes
from tinybpf.errors import TinyBPFError
from tinybpf.events import RingBuffer
from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.links.usdt import attach_usdt, attach_usdt_probe
from tinybpf.maps import Map
from tinybpf.programs import Program

pytestmark = pytest.mark.kernel

BINARY = Path(__file__).resolve().parent.parent / "data" / "usdt" / "usdt_target"

if platform.machine() != "x86_64":
    pytest.skip("the committed USDT test binary is x86_64", allow_module_level=True)


class Target:
    """A running usdt_target: stopped before its loop until ``go()``, and before exit until ``finish()``."""

    def __init__(self, iterations: int) -> None:
        self.process = subprocess.Popen([str(BINARY), str(iterations)], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        watched, semaphore = self.process.stdout.readline().split()
        self.watched, self.semaphore = int(watched, 16), int(semaphore, 16)
        self.pid = self.process.pid

    def go(self) -> int:
        """Run the loop; returns how many semaphore-guarded probe hits the process made."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def finish(self) -> None:
        self.process.communicate("bye\n", timeout=30)

    def semaphore_value(self) -> int:
        with open(f"/proc/{self.pid}/mem", "rb") as mem:
            mem.seek(self.semaphore)
            return int.from_bytes(mem.read(2), "little")


@contextmanager
def target(iterations: int) -> Iterator[Target]:
    running = Target(iterations)
    try:
        yield running
    finally:
        if running.process.poll() is None:
            running.process.kill()
        running.process.wait()
        for stream in (running.process.stdin, running.process.stdout):
            if stream is not None:
                stream.close()


def count_program(counter: Map) -> Instructions:
    return Instructions([
        st(Size.W, R10, -4, 0), mov64(R2, R10), alu64(ALUOp.ADD, R2, -4), ld_map_fd(R1, counter),
        call("map_lookup_elem"), jmp(JumpOp.JEQ, R0, 0, "out"), mov64(R1, 1), atomic_add(Size.DW, R0, R1),
        label("out"), mov64(R0, 0), exit_(),
    ])


def load_argument(arg: UsdtArgument, slot: int) -> list[Instruction]:
    """Put ``arg``'s value, extended to 64 bits, into the stack slot at ``R10 + slot`` (R6 holds pt_regs)."""
    if arg.kind == ArgKind.CONSTANT:
        return [ld_imm64(R1, arg.constant), stx(Size.DW, R10, R1, slot)]
    if arg.kind == ArgKind.REGISTER:
        insns = [ldx(Size.DW, R1, R6, arg.pt_regs_offset)]
    else:  # MEMORY: probe_read_user(slot, size, reg + offset)
        insns = [
            st(Size.DW, R10, slot, 0), mov64(R1, R10), alu64(ALUOp.ADD, R1, slot), mov64(R2, arg.size),
            ldx(Size.DW, R3, R6, arg.pt_regs_offset), alu64(ALUOp.ADD, R3, arg.offset), call("probe_read_user"),
            ldx(Size.DW, R1, R10, slot),
        ]
    shift = 64 - 8 * arg.size
    if shift:
        insns += [alu64(ALUOp.LSH, R1, shift), alu64(ALUOp.ARSH if arg.signed else ALUOp.RSH, R1, shift)]
    return [*insns, stx(Size.DW, R10, R1, slot)]


def arguments_program(ring: Map, arguments: tuple[UsdtArgument, ...]) -> Instructions:
    """ringbuf_output of the probe's arguments as u64s."""
    size = 8 * len(arguments)
    insns = [mov64(R6, R1)]
    for index, arg in enumerate(arguments):
        insns += load_argument(arg, -size + 8 * index)
    insns += [
        ld_map_fd(R1, ring), mov64(R2, R10), alu64(ALUOp.ADD, R2, -size), mov64(R3, size), mov64(R4, 0),
        call("ringbuf_output"), mov64(R0, 0), exit_(),
    ]
    return Instructions(insns)


def test_usdt_probe_sees_every_hit_and_its_arguments() -> None:
    (tick,) = find_probes(str(BINARY), "tinybpf", "tick")
    iterations = 300
    with Map.create(MapType.RINGBUF, 0, 0, 1 << 16) as ringmap, \
         Program.load(ProgType.KPROBE, arguments_program(ringmap, tick.arguments), name="tt_usdt_args") as prog, \
         RingBuffer(ringmap) as ring, target(iterations) as running:
        with attach_usdt_probe(prog, tick, pid=running.pid) as link:
            assert "tinybpf:tick" in link.target
            running.go()
        running.finish()
        records = [struct.unpack("<4q", record) for record in ring.records(timeout=0.5)]
    assert records == [(i, -i, i & 0xFF, 5) for i in range(iterations)]


def test_semaphore_counts_while_attached_and_guarded_probe_fires() -> None:
    (guarded,) = find_probes(str(BINARY), "tinybpf", "guarded")
    assert guarded.semaphore_offset
    iterations = 50
    with Map.create(MapType.RINGBUF, 0, 0, 1 << 16) as ringmap, \
         Program.load(ProgType.KPROBE, arguments_program(ringmap, guarded.arguments), name="tt_usdt_sem") as prog, \
         RingBuffer(ringmap) as ring, target(iterations) as running:
        assert running.semaphore_value() == 0
        with attach_usdt(prog, str(BINARY), "tinybpf", "guarded", pid=running.pid):
            assert running.semaphore_value() == 1
            hits = running.go()
        assert running.semaphore_value() == 0
        running.finish()
        records = [struct.unpack("<q", record)[0] for record in ring.records(timeout=0.5)]
    assert hits == iterations
    assert records == [3 * i for i in range(iterations)]


def test_without_a_tracer_the_guarded_probe_stays_quiet() -> None:
    with target(20) as running:
        assert running.go() == 0
        running.finish()


def test_usdt_without_pid_counts_hits_in_every_process() -> None:
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.KPROBE, count_program(counter), name="tt_usdt_count") as prog, \
         attach_usdt(prog, str(BINARY), "tinybpf", "tick") as link, \
         target(7) as first, target(11) as second:
        assert len(link.probes) == 1
        for running in (first, second):
            running.go()
            running.finish()
        assert counter[0] == 18


def test_a_probe_with_two_sites_is_attached_at_both() -> None:
    first, second = find_probes(str(BINARY), "tinybpf", "twice")
    iterations = 40
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Map.create(MapType.RINGBUF, 0, 0, 1 << 16) as ringmap, \
         Program.load(ProgType.KPROBE, count_program(counter), name="tt_usdt_twice") as counting, \
         Program.load(ProgType.KPROBE, arguments_program(ringmap, second.arguments), name="tt_usdt_site") as prog, \
         RingBuffer(ringmap) as ring, target(iterations) as running:
        with attach_usdt(counting, str(BINARY), "tinybpf", "twice", pid=running.pid) as link, \
             attach_usdt_probe(prog, second, pid=running.pid):
            # with a pid the binary is opened through /proc/PID/root (it may live in another mount namespace)
            assert [(p.provider, p.name, p.pc) for p in link.probes] == [(p.provider, p.name, p.pc)
                                                                         for p in (first, second)]
            hits = running.go()
        running.finish()
        assert counter[0] == iterations + 1
        records = [struct.unpack("<q", record)[0] for record in ring.records(timeout=0.5)]
    assert hits == 0
    assert records == [iterations + 1000]


def test_missing_probe_is_a_clear_error() -> None:
    with Map.create(MapType.ARRAY, 4, 8, 1, key=int, value=int) as counter, \
         Program.load(ProgType.KPROBE, count_program(counter), name="tt_usdt_missing") as prog:
        with pytest.raises(TinyBPFError, match=r"no USDT probe tinybpf:nope .*tinybpf:done, tinybpf:guarded, tinybpf:tick, tinybpf:twice"):
            attach_usdt(prog, str(BINARY), "tinybpf", "nope")
        with pytest.raises(TinyBPFError, match=r"has no \.note\.stapsdt"):
            attach_usdt(prog, "/bin/true", "tinybpf", "tick")
