"""Run a compiled trace: create maps, load programs, attach, run BEGIN, print events, run END, print maps.

The order follows bpftrace: every program is loaded before anything attaches (a verifier error leaves
nothing behind); BEGIN runs (with BPF_PROG_TEST_RUN) before any other probe is attached, so it happens
before everything else, but its records stay in the ring buffer; then the probes attach, the banner is
printed, a ``-c`` command is released, and the ring buffer (BEGIN's output first) is consumed until
``exit()``, a signal, or the end of the
command / the ``-p`` process. Then every probe is detached, END runs, and the maps print in name order.

The signal handlers only set a flag and wake the poll through a pipe (``signal.set_wakeup_fd``), so
SIGINT/SIGTERM/SIGHUP always lead to the orderly end above and nothing stays attached; one that comes
while the probes attach stops the attaching. ``--dry-run`` loads and attaches everything, runs nothing,
and detaches.
"""
from __future__ import annotations

import errno
import os
import select
import signal
import struct
import time
from typing import Any, Callable, Optional, TextIO

from tinybpf.backend.scratch import SCRATCH_MAP
from tinybpf.errors import BPFError, NotSupported, TinyBPFError
from tinybpf.kernel.constants import MapFlags, MapType
from tinybpf.kernel.syscall import pidfd_open
from tinybpf.trace.lower.compiled import (
    RINGBUF_NAME,
    CompiledTrace,
    Event,
    MapLayout,
    ProbeProgram,
)
from tinybpf.trace.lower.event_loss import EVENT_LOSS_MAP
from tinybpf.trace.lower.exit_flag import EXIT_FLAG_MAP
from tinybpf.trace.runtime import types as bt
from tinybpf.trace.runtime import values as blobs
from tinybpf.trace.runtime.child import STOP_SIGNALS, Child
from tinybpf.trace.semantics.stype import BLOB_KINDS, SType
from tinybpf.trace.syntax import config

NOTIFY_ENV = "__BPFTRACE_NOTIFY_PROBES_ATTACHED"
MAX_PROBES = 1024
"""bpftrace's default ``max_probes``."""
_ID = struct.Struct("=Q")
_LD_IMM64 = 0x18
_PSEUDO_MAP_FD = 1


def bpf_type(t: SType, lhist: tuple[int, int, int] = (0, 0, 1), hist_bits: int = 0) -> bt.BpfType:
    """The printers' type for an analysis type."""
    kind = t.kind
    if kind in BLOB_KINDS:
        return blobs.printer_type(kind, t.size)
    if kind == "int" and t.enumerators:
        return bt.EnumType(t.size * 8, t.signed, t.tag, t.enumerators)
    if kind == "int":
        return bt.IntType(t.size * 8, t.signed)
    if kind == "string":
        return bt.StringType(t.size)
    if kind == "tuple":
        return bt.TupleType(tuple(bpf_type(e) for e in t.elements))
    if kind in ("bool", "ptr", "struct", "array"):
        return _memory_type(t)
    if kind == "record":
        return bt.RecordType(t.names, tuple(bpf_type(e) for e in t.elements))
    simple: dict[str, Callable[[], bt.BpfType]] = {
        "count": bt.CountType, "sum": lambda: bt.SumType(t.signed), "min": lambda: bt.MinType(t.signed),
        "max": lambda: bt.MaxType(t.signed), "avg": lambda: bt.AvgType(t.signed),
        "stats": lambda: bt.StatsType(t.signed), "hist": lambda: bt.HistType(hist_bits),
        "lhist": lambda: bt.LhistType(lhist[0], lhist[1], lhist[2]),
    }
    if kind in simple:
        return simple[kind]()
    return bt.NONE


def _memory_type(t: SType) -> bt.BpfType:
    """Bools, pointers, C structs and arrays (see ``sema_memory``) as the printers' types."""
    if t.kind == "bool":
        return bt.BoolType()
    if t.kind == "ptr":
        return bt.PointerType(bpf_type(t.pointee) if t.pointee is not None else bt.VOID)
    if t.kind == "array" and t.pointee is not None:
        return bt.ArrayType(bpf_type(t.pointee), t.size // max(t.pointee.size, 1))
    fields = tuple(bt.Field(n, bpf_type(e), o) for n, e, o in zip(t.names, t.elements, t.offsets))
    return bt.StructType(t.tag, fields, t.size)


def decoder(t: SType) -> Callable[[bytes], Any]:
    """bytes of a value of type ``t`` -> the decoded value the printers take (ints, str, tuples)."""
    from tinybpf.trace.runtime.output import STR_TRUNC_TRAILER, decode_string
    from tinybpf.trace.syntax import config

    if t.kind in BLOB_KINDS:
        return blobs.decoder(t.kind, t.tag, t.size)
    if t.bitfield:
        shift, mask, size = t.bitfield[0], (1 << t.bitfield[1]) - 1, t.size
        return lambda raw: int.from_bytes(raw[:size], "little") >> shift & mask
    if t.kind in ("int", "bool", "ptr"):
        size, signed = t.size, t.signed
        return lambda raw: int.from_bytes(raw[:size], "little", signed=signed)
    if t.kind == "array" and t.pointee is not None:
        element, step = decoder(t.pointee), max(t.pointee.size, 1)
        return lambda raw: [element(raw[o:o + step]) for o in range(0, t.size, step)]
    if t.kind == "string":
        size, trailer = t.size, config.lookup("str_trunc_trailer", STR_TRUNC_TRAILER)
        return lambda raw: decode_string(bytes(raw[:size]), trailer)
    if t.kind in ("tuple", "struct", "record"):
        return _aggregate_decoder(t)
    return lambda raw: None


_INT_CODES = {1: "b", 2: "h", 4: "i", 8: "q"}


def _aggregate_decoder(t: SType) -> Callable[[bytes], tuple]:
    """A tuple, struct or record: its integer fields read by one precompiled ``struct.Struct`` (map keys
    of a large map are decoded by the hundred thousand), the other fields by their own decoders."""
    layout, end = ["<"], 0
    ints: list[int] = []
    others: list[tuple[int, Callable[[bytes], Any], int, int]] = []
    for index, (e, offset) in enumerate(zip(t.elements, t.offsets)):
        code = _INT_CODES.get(e.size)
        if e.kind in ("int", "bool", "ptr") and not e.bitfield and code is not None and offset >= end:
            layout.append(f"{offset - end}x{code if e.signed else code.upper()}")
            end = offset + e.size
            ints.append(index)
        else:
            others.append((index, decoder(e), offset, e.size))
    unpack = struct.Struct("".join(layout)).unpack_from
    if not others:
        return unpack
    count = len(t.elements)

    def decode(raw: bytes) -> tuple:
        values: list[Any] = [None] * count
        for index, value in zip(ints, unpack(raw)):
            values[index] = value
        for index, element, offset, size in others:
            values[index] = element(raw[offset:offset + size])
        return tuple(values)
    return decode


def log_trimmed(program: ProbeProgram, log_size: int) -> str:
    """bpftrace's messages when the verifier log overflowed the ``log_size`` buffer (ENOSPC)."""
    special = program.special or (program.targets[0].provider if program.targets else program.name)
    index = program.name.rsplit("_", 2)[-2] if program.name.count("_") >= 2 else "0"
    name = f"{special.lower()}_{int(index) + 1}"
    return ("WARNING: Kernel log seems to be trimmed. This may be due to buffer not being big enough, try "
            "increasing the BPFTRACE_LOG_SIZE environment variable beyond the current value of "
            f"{log_size} bytes. Or, add the configuration `config = {{ log_size = N; }}` to the script.\n"
            f"ERROR: Error loading BPF program for {name}. Error code: -{errno.ENOSPC} "
            f"({os.strerror(errno.ENOSPC)}).\n")


def ring_buffer_size() -> int:
    """The ring buffer's bytes, as bpftrace sizes it: ``perf_rb_pages`` pages (at least one per CPU), else
    a share of the available memory between 256 KiB and ~16 MiB; a ring buffer is a power-of-two number of
    pages, so the count rounds to the nearest one (up, for a configured count the kernel would refuse)."""
    from tinybpf.kernel.perf_event import page_size
    from tinybpf.kernel.sysinfo import available_memory_kb, num_possible_cpus

    page = page_size()
    pages = config.lookup_int("perf_rb_pages", 0)
    if pages > 0:
        return _round_up_pow2(max(pages, num_possible_cpus())) * page
    memory = min(available_memory_kb() or _RING_CEILING_KB, _RING_CEILING_KB)
    return _closest_pow2(max(memory, _RING_FLOOR_KB) * 1024 // page) * page


_RING_CEILING_KB, _RING_FLOOR_KB = 16544, 256


def _round_up_pow2(n: int) -> int:
    return 1 << (n - 1).bit_length()


def _closest_pow2(n: int) -> int:
    low = 1 << (n.bit_length() - 1)
    return low if n - low <= 2 * low - n else 2 * low


class TraceRuntime:
    """One run of a compiled trace."""

    def __init__(self, trace: CompiledTrace, out: TextIO, err: TextIO, *, output_format: str = "text",
                 quiet: bool = False, pid: int = 0, child: Optional[Child] = None, verbose: bool = False,
                 warnings: bool = True, bench: bool = False, dry_run: bool = False) -> None:
        from tinybpf.trace.runtime.output import make_printer

        self.trace = trace
        self.printer = make_printer(output_format, out, err)
        self.out = out
        self.err = err
        self.quiet = quiet
        self.pid = pid
        self.child = child
        self.verbose = verbose
        self.warnings = warnings
        self.maps: dict[str, Any] = {}
        self.programs: list[tuple[ProbeProgram, Any]] = []
        self.links: list[Any] = []
        self.ring: Any = None
        self.finished = False
        self.exit_code = 0
        self.stop_requested = False
        self.pending_signals: list[str] = []
        self.bench = bench
        self.dry_run = dry_run
        self.zeroed: set = set()
        self.full_maps_warned: set[str] = set()
        self.lost = 0
        self.old_mask: set[Any] = set()
        self.renderers: Optional[list[Optional[Callable[[memoryview], str]]]] = None
        self.formats: dict[int, Any] = {}
        self.decoders: dict[int, list[tuple[Callable[[bytes], Any], Any, int, int]]] = {}

    # ----------------------------------------------------------------- setup

    def create_maps(self) -> None:
        from tinybpf.maps import Map

        self.maps[RINGBUF_NAME] = Map.create(MapType.RINGBUF, max_entries=ring_buffer_size(), name=RINGBUF_NAME)
        for layout in self.trace.maps.values():
            self.maps[layout.name] = Map.create(layout.map_type, layout.key_size, layout.value_size,
                                                layout.max_entries, name=layout.bpf_name, key=bytes, value=bytes)
        referenced = {insn.reference for program in self.trace.programs for insn in program.instructions}
        if EVENT_LOSS_MAP in referenced:
            self.maps[EVENT_LOSS_MAP] = Map.create(MapType.PERCPU_ARRAY, 4, 8, 1, name=EVENT_LOSS_MAP, key=bytes,
                                                   value=bytes)
        if EXIT_FLAG_MAP in referenced:
            self.maps[EXIT_FLAG_MAP] = Map.create(MapType.ARRAY, 4, 8, 1, name=EXIT_FLAG_MAP, key=bytes, value=bytes)
        for name in blobs.STACK_MAPS:
            if name in referenced:
                build_id = name == blobs.BUILD_ID_MAP
                self.maps[name] = Map.create(MapType.STACK_TRACE, 4, blobs.MAX_FRAMES * (32 if build_id else 8),
                                             blobs.STACK_MAP_ENTRIES, name=name, key=bytes, value=bytes,
                                             flags=MapFlags.STACK_BUILD_ID if build_id else 0)
        if SCRATCH_MAP in referenced:
            from tinybpf.kernel.sysinfo import num_possible_cpus

            frame = max(program.stack_size for program in self.trace.programs)
            self.maps[SCRATCH_MAP] = Map.create(MapType.ARRAY, 4, frame, num_possible_cpus(), name=SCRATCH_MAP,
                                                key=bytes, value=bytes)

    def link_instructions(self, program: ProbeProgram) -> Any:
        """Fill in map fds, the start time and the child's pid where the code refers to them."""
        from tinybpf.asm import Instructions

        by_bpf_name = {layout.bpf_name: self.maps[layout.name] for layout in self.trace.maps.values()}
        by_bpf_name[RINGBUF_NAME] = self.maps[RINGBUF_NAME]
        for name in (*blobs.STACK_MAPS, SCRATCH_MAP, EXIT_FLAG_MAP, EVENT_LOSS_MAP):
            if name in self.maps:
                by_bpf_name[name] = self.maps[name]
        constants = {"__start_ns": time.monotonic_ns(), "__cpid": self.child.pid if self.child else 0}
        out = Instructions()
        for insn in program.instructions:
            ref = insn.reference
            if insn.opcode == _LD_IMM64 and ref is not None:
                if insn.src == _PSEUDO_MAP_FD:
                    insn = insn.replace(imm=by_bpf_name[ref].fd, reference=None)
                elif ref in constants:
                    insn = insn.replace(imm=constants[ref], reference=None)
            out.append(insn)
        return out

    def load(self) -> bool:
        """Load every program; False (after bpftrace's messages) when ``log_size`` was too small for the
        verifier log of ``-v``."""
        from tinybpf.backend.subprograms import load_options
        from tinybpf.programs import Program

        log_size = config.lookup_int("log_size", 0) if self.verbose else 0
        for program in self.trace.programs:
            insns = self.link_instructions(program)
            extra = load_options(insns)
            btf = extra.pop("_btf", None)
            try:
                loaded = Program.load(program.prog_type, insns, name=program.name,
                                      log_level=2 if self.verbose else 0, log_size=log_size, **extra)
            except BPFError as exc:
                if not log_size or exc.errno != errno.ENOSPC:
                    raise
                self.err.write(log_trimmed(program, log_size))
                return False
            del btf  # the program holds its own reference to the BTF now
            if self.verbose:
                self.err.write(f"{program.name}: {insns.slots} instructions\n{insns}\n")
                stats = [line for line in loaded.verifier_log.splitlines() if line.startswith(("processed",
                                                                                              "verification"))]
                self.err.write("\n".join(stats) + "\n")
            self.programs.append((program, loaded))
        return True

    def attach(self) -> None:
        from tinybpf.trace.runtime.probes import attach

        # the kernel runs the programs of one kprobe/uprobe newest first, so those attach in reverse to fire
        # in the order they were written (as bpftrace does)
        pending = [(target, loaded) for program, loaded in self.programs if not program.special
                   for target in program.targets]
        newest_first = ("kprobe", "uprobe", "uretprobe", "usdt")
        ordered = [p for p in pending if p[0].provider not in newest_first]
        ordered += [p for p in reversed(pending) if p[0].provider in newest_first]
        per_process = ("uprobe", "uretprobe", "usdt", "watchpoint")
        for target, loaded in ordered:
            if self.stop_requested:
                return  # Ctrl-C while hundreds of probes attach: what is attached is detached at once
            pid = self.child.pid if self.child and target.provider in per_process else self.pid
            try:
                self.links.append(attach(loaded, target, pid or -1))
            except (TinyBPFError, OSError) as exc:
                self.attach_failed(target.name, exc)

    def attach_failed(self, name: str, exc: Exception) -> None:
        """A probe the kernel refused: fatal unless ``missing_probes`` says warn (or ignore), as in bpftrace."""
        missing = config.lookup("missing_probes", "error")
        reason = exc.message if isinstance(exc, TinyBPFError) else str(exc)
        if missing == "error" and isinstance(exc, NotSupported):
            raise exc  # the kernel lacks the probe kind: its own message says so
        if missing == "error":
            raise TinyBPFError(f"Unable to attach probe: {name} ({reason})",
                               "if this is expected, set the 'missing_probes' config variable to 'warn'") from None
        if missing == "warn":
            self.err.write(f"WARNING: {reason}\nWARNING: Unable to attach probe: {name}. Skipping.\n")

    def probe_count(self) -> int:
        """Probes as bpftrace counts them: the sites of one USDT probe are one probe."""
        usdt = {t.name for p in self.trace.programs for t in p.targets if t.provider == "usdt"}
        return len(usdt) + sum(t.provider != "usdt" for p in self.trace.programs for t in p.targets)

    def within_probe_limit(self) -> bool:
        """bpftrace's ``max_probes`` (``BPFTRACE_MAX_PROBES``): a wildcard that matches thousands of functions
        is refused before anything loads, with bpftrace's words."""
        limit, count = config.lookup_int("max_probes", MAX_PROBES), self.probe_count()
        if count <= limit:
            return True
        self.err.write(f"ERROR: Can't attach to {count} probes because it exceeds the current limit of {limit} "
                       "probes.\nYou can increase the limit through the BPFTRACE_MAX_PROBES environment variable, "
                       "but BE CAREFUL since a high number of probes attached can cause your system to crash.\n")
        return False

    # ----------------------------------------------------------------- the run

    def run(self) -> int:
        """Everything from map creation to the last map printed; returns the exit code."""
        from tinybpf.events import RingBuffer

        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        old_handlers = self.install_signals(wake_w)
        binaries = sorted({t.target for p in self.trace.programs for t in p.targets
                           if t.provider in ("uprobe", "uretprobe", "usdt")})
        blobs.activate(blobs.Symbolizer(self.maps, binaries))
        try:
            if not self.within_probe_limit():
                return 1
            self.create_maps()
            if not self.load():
                return 1
            self.ring = RingBuffer(self.maps[RINGBUF_NAME], batch=self.on_records)
            if self.dry_run:
                self.attach()  # everything a run loads and attaches, then detached and unloaded unrun
                return 0
            self.run_special("BEGIN")
            if not self.finished:
                self.attach()
            if not self.quiet and not self.bench and not self.stop_requested:
                self.printer.attached_probes(self.probe_count())
            if not self.finished and not self.stop_requested:
                if os.environ.get(NOTIFY_ENV):
                    self.out.write(NOTIFY_ENV + "\n")
                self.out.flush()
                if self.child is not None:
                    self.child.release()
                if self.bench:
                    from tinybpf.trace.runtime.bench import run_benchmarks

                    run_benchmarks(self)
                if self.child is None and all(program.special in ("BEGIN", "END", "bench")
                                              for program, _ in self.programs):
                    self.ring.consume()  # only BEGIN/END probes: nothing can fire after BEGIN
                else:
                    self.loop(wake_r)
            self.detach()
            self.finished = self.stop_requested = False
            self.run_special("END")
            self.report_loss(final=True)
            self.print_all_maps()
            self.out.flush()
            return self.exit_code
        finally:
            blobs.activate(None)
            self.detach()
            self.restore_signals(old_handlers)
            os.close(wake_r)
            os.close(wake_w)
            self.close()
            if self.child is not None:
                self.child.stop()

    def install_signals(self, wake_w: int) -> dict[int, Any]:
        def stop(signum: int, frame: Any) -> None:
            self.stop_requested = True

        def trigger(signum: int, frame: Any) -> None:
            self.pending_signals.append(signal.Signals(signum).name)

        old: dict[int, Any] = {int(sig): signal.signal(sig, stop) for sig in STOP_SIGNALS}
        # SIGUSR1 is always caught, as bpftrace does: it runs the self:signal:SIGUSR1 probes, if any
        old[int(signal.SIGUSR1)] = signal.signal(signal.SIGUSR1, trigger)
        old[-1] = signal.set_wakeup_fd(wake_w)
        # the CLI blocks the stop signals until now: one that came meanwhile is delivered here
        self.old_mask = signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
        return old

    def restore_signals(self, old: dict[int, Any]) -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old_mask)  # blocked again: a late one changes nothing
        signal.set_wakeup_fd(old.pop(-1))
        for sig, handler in old.items():
            signal.signal(sig, handler)

    def run_special(self, which: str) -> None:
        """Run BEGIN or END. BEGIN's records stay in the ring buffer until the event loop starts, so they
        print after the banner and the attach notification, as bpftrace's do."""
        for program, loaded in self.programs:
            if program.special == which:
                loaded.test_run(ctx=bytes(8), repeat=0)
                if which != "BEGIN":
                    self.ring.consume()

    def run_signal_probes(self) -> None:
        """Run the ``self:signal:NAME`` probes of each signal received since the last turn, in script order."""
        while self.pending_signals:
            name = "self:signal:" + self.pending_signals.pop(0)
            for program, loaded in self.programs:
                if program.special == name:
                    loaded.test_run(ctx=bytes(8), repeat=0)

    def loop(self, wake_r: int) -> None:
        poller = select.poll()
        poller.register(self.ring.fileno(), select.POLLIN)
        poller.register(wake_r, select.POLLIN)
        watched = self.child.pidfd() if self.child is not None else None
        if watched is None and self.pid:
            try:
                watched = pidfd_open(self.pid)
            except OSError:
                watched = None
        if watched is not None:
            poller.register(watched, select.POLLIN)
        try:
            while not self.finished and not self.stop_requested:
                events = poller.poll(1000)
                self.run_signal_probes()
                self.report_loss()
                self.ring.consume()
                if self.process_gone(watched, events):
                    break
        finally:
            if watched is not None:
                os.close(watched)
        self.ring.consume()

    def report_loss(self, final: bool = False) -> None:
        """Print how many more records the kernel could not write since the last report (bpftrace's
        ``Lost N events``); at the end, the total once more on stderr, where a flood of output cannot hide it."""
        counter = self.maps.get(EVENT_LOSS_MAP)
        if counter is None:
            return
        total = sum(_ID.unpack_from(value)[0] for value in counter[bytes(4)])
        if total > self.lost:
            self.printer.lost_events(total - self.lost)
            self.lost = total
            flag = self.maps.get(EXIT_FLAG_MAP)
            if flag is not None and any(flag[bytes(4)]):
                self.finished = True  # the exit() record itself may be among the lost ones
        if final and self.lost:
            self.out.flush()
            self.err.write(f"WARNING: Total lost event count: {self.lost}\n")

    def process_gone(self, watched: Optional[int], events: list[tuple[int, int]]) -> bool:
        if self.child is not None:
            return self.child.reap()
        if self.pid and watched is not None:
            return any(fd == watched for fd, _ in events)
        return False

    def detach(self) -> None:
        """Close every link. Detaching a perf tracepoint waits for an RCU grace period in the kernel
        (tens of ms), so several links close in parallel threads and share the wait."""
        links, self.links = self.links, []
        if len(links) < 2:
            for link in links:
                link.close()
            return
        import threading

        threads = [threading.Thread(target=link.close) for link in links]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def close(self) -> None:
        if self.ring is not None:
            self.ring.close()
            self.ring = None
        for _, loaded in self.programs:
            loaded.close()
        self.programs = []
        for m in self.maps.values():
            m.close()
        self.maps = {}

    # ----------------------------------------------------------------- events

    def on_records(self, records: list[memoryview]) -> None:
        """Handle one batch; consecutive printf texts are written together (one write, not one per line),
        which is most of what keeps the consumer ahead of a flood."""
        events = self.trace.events
        if self.renderers is None:
            self.renderers = [self.printf_renderer(number, event) for number, event in enumerate(events)]
        renderers, texts = self.renderers, []
        unpack = _ID.unpack_from
        try:
            for record in records:
                if self.finished or self.stop_requested:
                    return  # after exit() or a signal, the rest of a flood of events is dropped
                number = unpack(record, 0)[0]
                render = renderers[number]
                if render is not None:
                    texts.append(render(record))
                    continue
                if texts:
                    self.printer.printf_many(texts)
                    texts = []
                self.handle(events[number], number, record)
        finally:
            if texts:
                self.printer.printf_many(texts)

    def printf_renderer(self, number: int, event: Event) -> Optional[Callable[[memoryview], str]]:
        """A printf event's text straight from its record (None for the other kinds); plain integer
        arguments are read by one precompiled ``struct.Struct``."""
        if event.kind != "printf":
            return None
        fmt = self.format_of(number, event)
        layout, end = ["<"], 0
        for t, offset in event.args:
            code = _INT_CODES.get(t.size)
            if t.kind != "int" or t.enumerators or t.bitfield or code is None or offset < end:
                return lambda record: fmt.format(self.args_of(number, event, record))
            layout.append(f"{offset - end}x{code if t.signed else code.upper()}")
            end = offset + t.size
        unpack = struct.Struct("".join(layout)).unpack_from
        fast = fmt.integer_formatter()
        if fast is not None:
            return lambda record: fast(unpack(record))
        return lambda record: fmt.format(unpack(record))

    def handle(self, event: Event, number: int, record: memoryview) -> None:
        kind = event.kind
        if kind == "printf":
            self.printer.printf(self.format_of(number, event).format(self.args_of(number, event, record)))
        elif kind == "time":
            from tinybpf.trace.runtime.output import format_time

            self.printer.time(format_time(event.text))
        elif kind == "exit":
            self.finished = True
            if len(record) >= 16:
                self.exit_code = int.from_bytes(record[8:16], "little") & 0xFF
        elif kind == "print":
            extra = event.extra
            self.print_map(event.map, extra[0] if extra else 0, extra[1] if len(extra) > 1 else 1, at_exit=False)
        elif kind == "print_value":
            self.printer.value(self.args_of(number, event, record)[0])
        elif kind == "clear":
            self.clear_map(event.map)
        elif kind == "zero":
            self.zero_map(event.map)
        elif kind == "warning":
            if self.warnings:
                self.out.flush()
                self.err.write(event.text + "\n")
        elif kind == "helper_error":
            self.helper_error(event, struct.unpack_from("=q", record, 8)[0])
        elif kind == "join":
            from tinybpf.trace.runtime.output import join

            count, length = event.extra
            parts = [bytes(record[8 + i * length:8 + (i + 1) * length]).split(b"\0", 1)[0]
                     .decode("utf-8", "replace") for i in range(count)]
            self.printer.join(join(parts, event.text))
        elif kind in blobs.EVENT_KINDS:
            self.out.flush()
            blobs.run_event(kind, self.format_of(number, event).format(self.args_of(number, event, record)),
                             self.printer, self.err, self.warnings)

    def format_of(self, number: int, event: Event) -> Any:
        fmt = self.formats.get(number)
        if fmt is None:
            from tinybpf.trace.runtime.printf import FormatString

            fmt = self.formats[number] = FormatString.parse(event.text)
        return fmt

    def args_of(self, number: int, event: Event, record: memoryview) -> list[Any]:
        parts = self.decoders.get(number)
        if parts is None:
            from tinybpf.trace.runtime.output import primitive_converter

            parts = self.decoders[number] = [
                (decoder(t), primitive_converter(bpf_type(t)), offset, t.size) for t, offset in event.args
            ]
        raw = bytes(record)
        return [convert(decode(raw[offset:offset + size])) for decode, convert, offset, size in parts]

    def helper_error(self, event: Event, retcode: int) -> None:
        """``-k``: a helper failed; its warning, or in ``-f json`` bpftrace's ``helper_error`` record."""
        import json

        from tinybpf.trace.runtime.output import JsonPrinter

        message = os.strerror(-retcode) if retcode < 0 else str(retcode)
        if isinstance(self.printer, JsonPrinter):
            line, column = event.extra
            filename = event.text.partition(f":{line}:")[0]  # the warning starts with its location
            self.out.write(json.dumps({"type": "helper_error", "msg": message, "helper": event.map,
                                       "retcode": retcode, "filename": filename, "line": line,
                                       "col": column}) + "\n")
        elif self.warnings:
            self.out.flush()
            self.err.write(event.text.replace("{msg}", message).replace("{retcode}", str(retcode)) + "\n")

    def clear_map(self, name: str) -> None:
        """A keyless map lives in an array, whose elements cannot be deleted: zeroed, it prints as absent."""
        if self.trace.maps[name].is_array:
            self.write_zeros(name)
        else:
            self.maps[name].clear()
        self.zeroed.discard(name)

    def zero_map(self, name: str) -> None:
        self.write_zeros(name)
        self.zeroed.add(name)

    def write_zeros(self, name: str) -> None:
        m = self.maps[name]
        layout = self.trace.maps[name]
        zero = bytes(layout.value_size)
        keys = list(m.keys())
        for key in keys:
            m[key] = [zero] * m.ncpus if m.percpu else zero

    # ----------------------------------------------------------------- maps

    def print_all_maps(self) -> None:
        from tinybpf.trace.syntax import config

        self.printer.end()
        if not config.flag("print_maps_on_exit", True):
            return
        for name in self.trace.map_order():
            self.print_map(name, at_exit=True)

    def print_map(self, name: str, top: int = 0, div: int = 1, at_exit: bool = False) -> None:
        from tinybpf.trace.runtime.output import format_map, format_print_map

        layout = self.trace.maps.get(name)
        if layout is None:
            return
        if layout.value.kind == "tseries":
            self.print_tseries(layout)
            return
        key_type = None if layout.key.kind == "none" else bpf_type(layout.key)
        value_type = bpf_type(layout.value, layout.lhist, layout.hist_bits)
        entries = self.entries(layout)
        formatter = format_map if at_exit else format_print_map
        self.printer.map(name, formatter(key_type, value_type, entries, top, div))

    def print_tseries(self, layout: MapLayout) -> None:
        from tinybpf.trace.runtime.output import OrderedMap, primitive_converter
        from tinybpf.trace.semantics import tseries

        raw: list[tuple[bytes, Any]] = []
        for keys, values in self.maps[layout.name].lookup_batches():
            raw.extend(zip(keys, values))
        interval, count, agg = layout.tseries
        groups = tseries.collect(raw, agg, layout.value.signed)
        if layout.key.kind == "none":
            series = tseries.build(groups, interval, count, layout.value.signed)
            self.printer.map(layout.name, series[0][1] if series else OrderedMap(()))
            return
        key_decode, key_of = decoder(layout.key), primitive_converter(bpf_type(layout.key))
        decoded = [(key_of(key_decode(prefix)), epochs) for prefix, epochs in groups]
        self.printer.map(layout.name, OrderedMap(tuple(tseries.build(decoded, interval, count,
                                                                     layout.value.signed))))

    def entries(self, layout: MapLayout) -> list[tuple[Any, Any]]:
        """The map's (key, value) pairs decoded for ``output.format_map`` (per-CPU values combined)."""
        m = self.maps[layout.name]
        raw: list[tuple[bytes, Any]] = []
        for keys, values in m.lookup_batches():
            raw.extend(zip(keys, values))
        if not layout.is_array and not layout.declared and len(raw) >= layout.max_entries:
            self.warn_full(layout)  # a declared map reports refused updates itself (``map_decls``)
        kind = layout.value.kind
        key_decode = decoder(layout.key)
        if kind in ("hist", "lhist"):
            return self.bucket_entries(layout, raw, key_decode)
        value_of = self.value_reader(layout)
        out = []
        for key, value in raw:
            decoded = value_of(value)
            if decoded is None:
                if layout.name not in self.zeroed:
                    continue
                decoded = _ZEROED_VALUES.get(kind, 0)  # ``zero(@c)``: it prints as an aggregate at zero
            out.append((None if layout.key.kind == "none" else key_decode(key), decoded))
        return out

    def warn_full(self, layout: MapLayout) -> None:
        """Once per map: the kernel refused new keys past ``max_entries`` (bpftrace warns at each refusal)."""
        if layout.name in self.full_maps_warned:
            return
        self.full_maps_warned.add(layout.name)
        self.printer.out.flush()
        self.err.write(f"WARNING: Map full; can't update element: {layout.name} holds {layout.max_entries} "
                       "keys, later new keys were dropped. Try increasing max_map_keys config "
                       "(BPFTRACE_MAP_KEYS_MAX)\n")
        self.err.flush()

    def value_reader(self, layout: MapLayout) -> Callable[[Any], Any]:
        """Per-CPU list of raw values -> the decoded value; None means "never set" (not printed)."""
        kind = layout.value.kind
        signed = layout.value.signed
        pair = struct.Struct("=qQ" if signed else "=QQ")
        if kind in ("count", "sum"):
            from tinybpf.trace.runtime.output import reduce_sum

            unpack = struct.Struct("=q" if signed else "=Q").unpack_from

            def total(values: list[bytes]) -> Optional[int]:
                numbers = [unpack(v)[0] for v in values]
                if layout.is_array and not any(numbers):
                    return None
                return reduce_sum(numbers, signed)
            return total
        if kind in ("min", "max"):
            def pairs(values: list[bytes]) -> Optional[list[tuple[int, int]]]:
                result = [pair.unpack_from(v) for v in values]
                return result if any(s for _, s in result) else None
            return pairs
        if kind in ("avg", "stats"):
            def average(values: list[bytes]) -> Optional[tuple[int, int]]:
                from tinybpf.trace.runtime.output import reduce_avg

                result = reduce_avg([pair.unpack_from(v) for v in values], signed)
                return None if layout.is_array and not result[1] else result
            return average
        return decoder(layout.value)

    def bucket_entries(self, layout: MapLayout, raw: list[tuple[bytes, Any]],
                       key_decode: Callable[[bytes], Any]) -> list[tuple[Any, Any]]:
        from tinybpf.trace.semantics.histogram import hist_bucket_count

        u64 = struct.Struct("=Q")
        groups: dict[bytes, list[int]] = {}
        size = layout.lhist and (layout.lhist[1] - layout.lhist[0]) // max(layout.lhist[2], 1) + 2
        buckets = hist_bucket_count(layout.hist_bits) + 1 if layout.value.kind == "hist" else size
        for key, values in raw:
            if layout.is_array:
                prefix, index = b"", int.from_bytes(key[:4], "little")
            else:
                prefix, index = key[:-8], u64.unpack_from(key, len(key) - 8)[0]
            counts = groups.setdefault(prefix, [0] * buckets)
            if index < buckets:
                counts[index] += sum(u64.unpack_from(v)[0] for v in values)
        out = []
        for prefix, counts in sorted(groups.items()):  # bpftrace collects them ordered by key bytes
            if not any(counts) and layout.name not in self.zeroed:
                continue
            out.append((None if layout.key.kind == "none" else key_decode(prefix), counts))
        return out


_ZEROED_VALUES: dict[str, Any] = {"min": [(0, 0)], "max": [(0, 0)], "avg": (0, 0), "stats": (0, 0)}
"""What a zeroed keyless aggregate decodes to, for the kinds whose reader says "never set" (count/sum: 0)."""


def run_trace(trace: CompiledTrace, out: TextIO, err: TextIO, **options: Any) -> int:
    """Run ``trace`` to its end; returns the exit code."""
    return TraceRuntime(trace, out, err, **options).run()
