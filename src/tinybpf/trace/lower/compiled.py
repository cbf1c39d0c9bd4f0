"""What the compiler hands the runtime: map layouts, event record formats and per-probe programs.

Plain data, like the specs of ``tinybpf.spec``: the code generator fills them in, the runtime creates the maps,
loads and attaches the programs and decodes the records, and ``-d`` prints them.

Every record a program sends through the ring buffer starts with a u64 event id, an index into
``CompiledTrace.events``; the event says what the rest of the record holds.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from tinybpf.kernel.constants import MapType, ProgType
from tinybpf.trace.semantics.stype import SType

RINGBUF_NAME = "ringbuf"
RINGBUF_SIZE = 1 << 20
MAP_KEYS_MAX = 4096
KSTACK_MAP = "kstacks"
USTACK_MAP = "ustacks"
BUILD_ID_MAP = "ustacks_bid"
"""User stacks as ``struct bpf_stack_build_id`` frames (a map created with BPF_F_STACK_BUILD_ID)."""


@dataclass
class MapLayout:
    """How one bpftrace map is kept in the kernel.

    Aggregations live in per-CPU maps and are summed when read (no atomics). A map without keys that
    counts (count, min, max, avg, stats, hist, lhist) is a per-CPU array: its lookup never fails, so the
    update path disappears. ``value_size`` is per CPU.
    """

    name: str
    bpf_name: str
    map_type: MapType
    key_size: int
    value_size: int
    max_entries: int
    key: SType
    value: SType
    lhist: tuple[int, int, int] = (0, 0, 0)
    hist_bits: int = 0
    declared: bool = False  # sized by a map declaration: a full map is reported at run time
    tseries: tuple[int, int, str] = (0, 0, "")

    @property
    def is_array(self) -> bool:
        return self.map_type in (MapType.ARRAY, MapType.PERCPU_ARRAY)

    @property
    def bucketed(self) -> bool:
        return self.value.kind in ("hist", "lhist")


@dataclass
class Event:
    """One kind of ring buffer record: ``kind`` is printf, print, print_value, time, exit, clear or zero.

    ``args`` lists ``(type, offset)`` of each packed argument after the 8-byte id.
    """

    kind: str
    text: str = ""
    map: str = ""
    args: list[tuple[SType, int]] = field(default_factory=list)
    size: int = 8
    extra: tuple[int, ...] = ()


@dataclass
class ProbeProgram:
    """One program and the attach points it goes on (each a ``probes.Target``)."""

    name: str
    prog_type: ProgType
    instructions: Any
    targets: list[Any]
    special: str = ""
    stack_size: int = 0


@dataclass
class CompiledTrace:
    maps: dict[str, MapLayout]
    events: list[Event]
    programs: list[ProbeProgram]
    analysis: Any = None
    warnings: list[str] = field(default_factory=list)
    needs_start_time: bool = False
    uses_cpid: bool = False

    def map_order(self) -> list[str]:
        """Maps in the order bpftrace prints them at exit (by name)."""
        return sorted(self.maps)

    def program(self, special: str) -> Optional[ProbeProgram]:
        for program in self.programs:
            if program.special == special:
                return program
        return None
