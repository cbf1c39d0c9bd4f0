"""``Object``: an object file opened (spec parsed, globals writable), loaded (maps, programs), attached, pinned."""
from __future__ import annotations

import dataclasses
import functools
import os
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Optional, Union

from ..btf import core
from ..btf.kinds import Kind
from ..btf.reader import BTF
from ..elf import objspec
from ..elf import sections as sec
from ..elf.objspec import ObjectMapSpec, ObjectProgramSpec, ObjectSpec
from ..errors import BPFError, TinyBPFError, VerifierError
from ..kernel import commands
from ..kernel.constants import AttachType, MapFlags, MapType, ProgType
from ..kernel.fd import FD
from ..maps import Map
from ..programs import Program
from ..spec import MapSpec
from .btf_load import load_btf
from .errors import ObjectError
from .globals import GlobalData, display_value
from .kconfig import kconfig_bytes

PIN_ROOT = "/sys/fs/bpf"
_PSEUDO_MAP_FD, _PSEUDO_MAP_VALUE, _PSEUDO_BTF_ID, _PSEUDO_KFUNC_CALL = 1, 2, 3, 2


class Object:
    """A BPF object file: opened (spec parsed, globals writable), then loaded (maps and programs live).

    ``maps`` and ``programs`` are keyed like libbpf names them: map variable names (and ``.rodata``,
    ``.bss``... for global data), program function names. ``links`` collects what :meth:`attach` made.
    """

    def __init__(self, spec: ObjectSpec, *, pin_root: str = PIN_ROOT, btf: bool = True,
                 kernel_btf: Optional[BTF] = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.pin_root = pin_root
        self.use_btf = btf and bool(spec.btf_blob)
        self._kernel_btf = kernel_btf
        self.maps: dict[str, Map] = {}
        self.programs: dict[str, Program] = {}
        self.links: dict[str, Any] = {}
        self.errors: dict[str, TinyBPFError] = {}
        self.reused_maps: set[str] = set()
        self.pins: list[str] = []
        self._usdt_specs_used = 0
        self._struct_ops_layouts: dict[str, Any] = {}
        self.btf_fd: Optional[FD] = None
        self.loaded = False
        self._addresses: Optional[dict[str, int]] = None
        self._globals = {name: GlobalData(section, spec.btf) for name, section in spec.datasecs.items()}

    # ----- construction -----

    @classmethod
    def open(cls, path: Union[str, os.PathLike], **options: Any) -> Object:
        """Parse ``path`` (no kernel calls): set globals, then :meth:`load`."""
        return cls(ObjectSpec.from_file(path), **options)

    @classmethod
    def load_file(cls, path: Union[str, os.PathLike], programs: Optional[Iterable[str]] = None,
                  **options: Any) -> Object:
        """Open and load ``path`` in one step."""
        return cls.open(path, **options).load(programs)

    # ----- globals -----

    def section(self, name: str) -> GlobalData:
        """The variables of data section ``name`` (``.rodata``, ``.data.counters``...)."""
        found = self._globals.get(name)
        if found is None:
            known = ", ".join(self._globals) or "none"
            raise ObjectError(f"{self.spec.path} has no data section {name!r} (it has: {known})")
        return found

    @property
    def rodata(self) -> GlobalData:
        return self.section(".rodata")

    @property
    def data(self) -> GlobalData:
        return self.section(".data")

    @property
    def bss(self) -> GlobalData:
        return self.section(".bss")

    @property
    def kconfig(self) -> GlobalData:
        return self.section(objspec.KCONFIG_SECTION)

    # ----- loading -----

    def load(self, programs: Optional[Iterable[str]] = None, *, keep_going: bool = False) -> Object:
        """Create the maps and load ``programs`` (all by default).

        With ``keep_going`` a program that fails to load is recorded in :attr:`errors` and the others
        still load; otherwise the first failure closes everything and raises.
        """
        if self.loaded:
            raise ObjectError(f"{self.spec.path} is already loaded")
        selected = list(self.spec.programs) if programs is None else list(programs)
        for name in selected:
            if name not in self.spec.programs:
                known = ", ".join(self.spec.programs) or "none"
                raise ObjectError(f"{self.spec.path} has no program {name!r} (it has: {known})")
        try:
            if self.use_btf:
                self.btf_fd = load_btf(self.spec.btf_blob, self.spec.path)
            for name, map_spec in self.spec.maps.items():
                self.maps[name] = self._create_map(name, map_spec)
            self._fill_map_slots(MapType.PROG_ARRAY, invert=True)
            cache: Optional[core.CandidateCache] = None
            for name in selected:
                program_spec = self.spec.programs[name]
                if program_spec.core_relos and cache is None:
                    cache = core.CandidateCache(self._kernel())
                try:
                    self.programs[name] = self._load_program(program_spec, cache)
                except TinyBPFError as exc:
                    if not keep_going:
                        raise
                    self.errors[name] = exc
            self._fill_map_slots(MapType.PROG_ARRAY)
            for name, data in self._globals.items():
                if name in self.maps:
                    data.attach_map(self.maps[name], self._map_view(name))
        except BaseException:
            self.close()
            raise
        self.loaded = True
        return self

    def _map_view(self, name: str) -> Optional[Callable[[], Any]]:
        """What maps global-data map ``name`` when it is BPF_F_MMAPABLE (read-only once frozen)."""
        spec, fd = self.spec.maps[name], self.maps[name].fd
        if not spec.flags & MapFlags.MMAPABLE or name in self.reused_maps:
            return None
        return functools.partial(commands.map_mmap, fd, spec.value_size, not spec.freeze)

    def _kernel(self) -> BTF:
        if self._kernel_btf is None:
            from ..btf import kernel_btf

            self._kernel_btf = kernel_btf()
        return self._kernel_btf

    def _create_map(self, name: str, spec: ObjectMapSpec) -> Map:
        pin_path = spec.pin_path or (os.path.join(self.pin_root, spec.name) if spec.pinning ==
                                     objspec.LIBBPF_PIN_BY_NAME else "")
        if pin_path and os.path.exists(pin_path):
            existing = Map.from_pin(pin_path)
            self._check_reuse(name, spec, existing, pin_path)
            self.reused_maps.add(name)
            return existing
        created = self._map_create(name, spec)
        try:
            self._initialise(name, spec, created)
            if pin_path:
                created.pin(pin_path)
        except BaseException:
            created.close()
            raise
        return created

    def _map_create(self, name: str, spec: MapSpec) -> Map:
        from ..kernel.sysinfo import num_possible_cpus

        max_entries = spec.max_entries
        if spec.type == MapType.PERF_EVENT_ARRAY and not max_entries:
            max_entries = num_possible_cpus()
        inner: Optional[Map] = None
        if spec.inner_map is not None:
            inner = self._map_create(f"{name}.inner", dataclasses.replace(spec.inner_map, btf_key_type_id=0,
                                                                           btf_value_type_id=0))
        btf_fd = self.btf_fd.fd if self.btf_fd is not None else 0
        with_btf = bool(btf_fd and (spec.btf_key_type_id or spec.btf_value_type_id))
        ops = getattr(spec, "struct_ops", None)
        if ops is not None:
            if not btf_fd:
                raise ObjectError(f"struct_ops map {name!r} of {self.spec.path} needs the object's BTF loaded")
            layout = self._struct_ops_layout(ops.type_name)
            spec = dataclasses.replace(spec, value_size=layout.value_size)
        try:
            try:
                if ops is not None:
                    raw = commands.map_create(spec.type, 4, layout.value_size, 1, spec.flags, spec.name.encode()[:15],
                                              btf_fd=btf_fd, btf_vmlinux_value_type_id=layout.value_type_id)
                else:
                    raw = self._raw_create(spec, max_entries, inner, btf_fd if with_btf else 0, with_btf)
            except BPFError:
                if not with_btf:
                    raise
                raw = self._raw_create(spec, max_entries, inner, 0, False)  # as libbpf: retry without BTF
        except BPFError as exc:
            raise BPFError(exc.op, exc.errno, exc.hint,
                           f"cannot create {spec.type.name.lower()} map {name!r} of {self.spec.path} (key "
                           f"{spec.key_size} B, value {spec.value_size} B, {max_entries} entries)") from None
        finally:
            if inner is not None:
                inner.close()
        return Map.from_fd(raw, value=bytes if name in self._globals else None)

    @staticmethod
    def _raw_create(spec: MapSpec, max_entries: int, inner: Optional[Map], btf_fd: int,
                    with_btf: bool) -> int:
        return commands.map_create(
            spec.type, spec.key_size, spec.value_size, max_entries, spec.flags, spec.name.encode()[:15],
            inner.fd if inner is not None else 0, spec.numa_node or 0, btf_fd,
            spec.btf_key_type_id if with_btf else 0, spec.btf_value_type_id if with_btf else 0, spec.map_extra,
        )

    def _struct_ops_layout(self, type_name: str) -> Any:
        from ..links.struct_ops import struct_ops_layout

        if type_name not in self._struct_ops_layouts:
            self._struct_ops_layouts[type_name] = struct_ops_layout(self._kernel(), type_name)
        return self._struct_ops_layouts[type_name]

    def _struct_ops_binding(self, program: str) -> tuple[Any, int]:
        """(kernel layout, member index) of the struct_ops slot ``program`` fills: its attach_btf_id and
        expected_attach_type."""
        for spec in self.spec.maps.values():
            ops = spec.struct_ops
            for member in ops.members if ops is not None else ():
                if member.program == program and ops is not None:
                    layout = self._struct_ops_layout(ops.type_name)
                    if member.name not in layout.members:
                        raise ObjectError(f"{self.spec.path}: the kernel's struct {ops.type_name} "
                                          f"has no member {member.name!r} for {program}")
                    return layout, layout.members[member.name][0]
        raise ObjectError(f"{self.spec.path}: struct_ops program {program!r} fills no struct_ops map",
                          "point a member of a SEC(\".struct_ops\") variable at it")

    def _initialise(self, name: str, spec: ObjectMapSpec, created: Map) -> None:
        if spec.struct_ops is not None:
            return  # written when attached: the value holds the programs' fds
        if name in self._globals and name != objspec.KCONFIG_SECTION and spec.value_size:
            value: Optional[bytes] = self._globals[name].initial_value()
            if value is not None:
                created.update(0, value)
        elif name == objspec.KCONFIG_SECTION:
            value = kconfig_bytes(self.spec)
            object.__setattr__(self._globals[name], "_buffer", bytearray(value))
            created.update(0, value)
        else:
            for key, value in spec.contents:
                created[key] = value
        if spec.freeze:
            created.freeze()

    def _check_reuse(self, name: str, spec: ObjectMapSpec, existing: Map, path: str) -> None:
        """libbpf's map_is_reuse_compat: same type, sizes, max_entries and flags."""
        info = existing.info
        mismatch = [
            what for what, want, have in (
                ("type", int(spec.type), int(info.type)), ("key_size", spec.key_size, info.key_size),
                ("value_size", spec.value_size, info.value_size),
                ("max_entries", spec.max_entries, info.max_entries), ("map_flags", spec.flags, info.flags),
            ) if want != have and not (what == "max_entries" and spec.type == MapType.PERF_EVENT_ARRAY)
        ]
        if mismatch:
            existing.close()
            raise ObjectError(f"map {name!r} of {self.spec.path}: pinned map {path} differs in {', '.join(mismatch)}",
                              f"remove the stale pin: rm {path}")

    def _fill_map_slots(self, prog_array: MapType, invert: bool = False) -> None:
        """Write map-in-map slots (before programs load) or prog-array slots (after)."""
        for name, spec in self.spec.maps.items():
            if not spec.slot_refs or name in self.reused_maps or (spec.type == prog_array) == invert:
                continue
            target = self.maps[name]
            for index, ref in spec.slot_refs:
                source: Any = self.programs.get(ref) if spec.type == MapType.PROG_ARRAY else self.maps.get(ref)
                if source is not None:
                    target[index] = source.fd

    def _load_program(self, spec: ObjectProgramSpec, cache: Optional[core.CandidateCache]) -> Program:
        where = f"{os.path.basename(self.spec.path)}:{spec.name}"
        if spec.type not in ProgType._value2member_map_ or spec.type == ProgType.UNSPEC:
            raise ObjectError(f"{where}: section {spec.section!r} names no program type",
                              "use a libbpf section name such as SEC(\"tracepoint/...\") or SEC(\"xdp\")")
        insns = bytearray(spec.instructions)
        order = "<" if spec.byte_order == "little" else ">"
        if spec.core_relos:
            assert cache is not None
            btf = self.spec.btf
            assert btf is not None
            for relo in spec.core_relos:
                try:
                    result = core.resolve(btf, relo, cache)
                    core.patch(insns, relo.insn_off // 8, result, order)
                except TinyBPFError as exc:
                    raise ObjectError(f"{where}: {exc.message}", exc.hint) from None
        for ref in spec.references:
            self._patch_reference(insns, ref, order, where)
        attach_btf_id = self._attach_btf_id(spec, where) if spec.btf_target else 0
        expected_attach_type: Optional[int] = spec.expected_attach_type
        if spec.type == ProgType.STRUCT_OPS:
            layout, expected_attach_type = self._struct_ops_binding(spec.name)
            attach_btf_id = layout.type_id
        if spec.btf_target == "" and spec.type in (ProgType.TRACING, ProgType.LSM) and spec.attach != sec.ITER:
            raise ObjectError(f"{where}: section {spec.section!r} names no kernel function to attach to",
                              "write SEC(\"fentry/<function>\")")
        btf_fd = self.btf_fd.fd if self.btf_fd is not None else 0
        try:
            return Program.load(
                spec.type, bytes(insns), name=spec.name, license=spec.license or "GPL",
                expected_attach_type=expected_attach_type, kernel_version=spec.kernel_version, flags=spec.flags,
                attach_btf_id=attach_btf_id, btf_fd=btf_fd,
                func_info=spec.func_info if btf_fd else b"", func_info_rec_size=spec.func_info_rec_size if btf_fd else 0,
                line_info=spec.line_info if btf_fd else b"", line_info_rec_size=spec.line_info_rec_size if btf_fd else 0,
            )
        except VerifierError as exc:
            raise VerifierError(where, exc.errno, exc.log, exc.insn_index, exc.summary, exc.source_line) from None
        except BPFError as exc:
            raise BPFError(exc.op, exc.errno, exc.hint, f"cannot load {where} ({spec.section})") from None

    def _attach_btf_id(self, spec: ObjectProgramSpec, where: str) -> int:
        kind = Kind.TYPEDEF if spec.btf_target_kind == "typedef" else Kind.FUNC
        try:
            return int(self._kernel().find(spec.btf_target, kind).id)
        except KeyError:
            raise ObjectError(f"{where}: the kernel has no {kind.name.lower()} {spec.btf_target!r} in its BTF",
                              f"check the name in SEC({spec.section!r})") from None

    def _patch_reference(self, insns: bytearray, ref: objspec.Reference, order: str, where: str) -> None:
        insn = struct.Struct(order + "BBhi")
        at = ref.index * 8
        code, regs, off, imm = insn.unpack_from(insns, at)
        little = order == "<"

        def with_src(src: int) -> int:
            return (regs & 0x0F) | (src << 4) if little else (regs & 0xF0) | src

        def set_imm64(src: int, low: int, high: int) -> None:
            insn.pack_into(insns, at, code, with_src(src), off, _s32(low))
            second = insn.unpack_from(insns, at + 8)
            insn.pack_into(insns, at + 8, second[0], second[1], second[2], _s32(high))

        if ref.kind == objspec.MAP:
            set_imm64(_PSEUDO_MAP_FD, self.maps[ref.name].fd, 0)
        elif ref.kind == objspec.MAP_VALUE:
            set_imm64(_PSEUDO_MAP_VALUE, self.maps[ref.name].fd, imm + ref.offset)
        elif ref.kind == objspec.KCONFIG:
            extern = self.spec.externs[ref.name]
            set_imm64(_PSEUDO_MAP_VALUE, self.maps[objspec.KCONFIG_SECTION].fd, extern.offset)
        elif ref.kind == objspec.KSYM:
            self._patch_ksym(ref.name, set_imm64, where)
        elif ref.kind == objspec.KFUNC:
            btf_id = self._kernel_id(ref.name, Kind.FUNC)
            if not btf_id:
                if not self.spec.externs.get(ref.name, objspec.Extern(ref.name, "")).weak:
                    raise ObjectError(f"{where}: kfunc {ref.name!r} is not in the kernel's BTF",
                                      "declare it __weak to run without it")
                core.poison(insns, ref.index, order)
                return
            insn.pack_into(insns, at, code, with_src(_PSEUDO_KFUNC_CALL), 0, btf_id)

    def _patch_ksym(self, name: str, set_imm64: Any, where: str) -> None:
        extern = self.spec.externs[name]
        if extern.type_id:
            btf_id = self._kernel_id(name, Kind.VAR)
            if btf_id:
                set_imm64(_PSEUDO_BTF_ID, btf_id, 0)
                return
        else:
            address = self._ksym_addresses().get(name, 0)
            if address:
                set_imm64(0, address & 0xFFFFFFFF, address >> 32)
                return
        if not extern.weak:
            raise ObjectError(f"{where}: kernel symbol {name!r} not found", "declare it __weak to default to 0")
        set_imm64(0, 0, 0)

    def _ksym_addresses(self) -> dict[str, int]:
        """Addresses of every untyped ksym of the object, read from /proc/kallsyms once per load."""
        if self._addresses is None:
            from ..kernel.procfs import kallsyms_addresses

            untyped = [e.name for e in self.spec.externs.values() if e.kind == objspec.KSYM and not e.type_id
                       and not e.is_func]
            self._addresses = kallsyms_addresses(untyped)
        return self._addresses

    def _kernel_id(self, name: str, kind: Kind) -> int:
        try:
            return int(self._kernel().find(name, kind).id)
        except KeyError:
            return 0

    # ----- attaching -----

    def attach(self, *, interface: Union[str, int, None] = None, cgroup: Optional[str] = None,
               sample_period: Optional[int] = None) -> dict[str, Any]:
        """Attach every loaded program whose section says where, as libbpf's auto-attach does; returns the new
        links by program name (struct_ops maps by map name).

        Tracepoints, raw tracepoints, tp_btf/fentry/fexit/lsm, kprobes, ksyscalls, ``uprobe/PATH:FUNC``,
        ``uprobe.multi/PATH:PATTERN``, ``usdt/PATH:PROVIDER:NAME`` and ``iter/`` attach on their own, and every
        struct_ops map registers; xdp, tc and socket programs when ``interface`` is given; cgroup programs when
        ``cgroup`` is; perf_event programs on the CPU clock of every CPU when ``sample_period`` (ns) is. The rest
        need :meth:`attach_program` with a target.
        """
        made: dict[str, Any] = {}
        try:
            for name in self.programs:
                if name in self.links or not self.auto_attachable(name, interface=interface, cgroup=cgroup,
                                                                  sample_period=sample_period):
                    continue
                made[name] = self.attach_program(name, interface=interface, cgroup=cgroup,
                                                 sample_period=sample_period)
            for name, spec in self.spec.maps.items():
                if spec.struct_ops is not None and name not in self.links and name in self.maps:
                    made[name] = self.attach_struct_ops(name)
        except BaseException:
            for link in made.values():
                link.close()
                self.links.pop(next(k for k, v in self.links.items() if v is link), None)
            raise
        return made

    def attach_struct_ops(self, name: str) -> Any:
        """Register struct_ops map ``name`` (its programs loaded) with the kernel; the link unregisters it."""
        from ..links.struct_ops import attach_struct_ops, struct_ops_value

        ops = self.spec.maps[name].struct_ops
        if ops is None:
            raise ObjectError(f"{self.spec.path}: map {name!r} is not a struct_ops map")
        where = f"{os.path.basename(self.spec.path)}:{name}"
        missing = [m.program for m in ops.members if m.program and m.program not in self.programs]
        if missing:
            raise ObjectError(f"{where}: program {missing[0]!r} is not loaded", "load every program it names")
        value = struct_ops_value(self._struct_ops_layout(ops.type_name), ops,
                                 {m.program: self.programs[m.program].fd for m in ops.members if m.program},
                                 where, sys.byteorder)
        try:
            link = attach_struct_ops(self.maps[name], value, link=ops.link, target=f"struct_ops {ops.type_name} {name}")
        except BPFError as exc:
            raise BPFError(exc.op, exc.errno, exc.hint, f"cannot register {where} as {ops.type_name}") from None
        self.links[name] = link
        return link

    def auto_attachable(self, name: str, *, interface: Union[str, int, None] = None,
                        cgroup: Optional[str] = None, sample_period: Optional[int] = None) -> bool:
        """Whether :meth:`attach` would attach program ``name`` given these targets."""
        spec = self.spec.programs[name]
        if spec.attach in (sec.TRACEPOINT, sec.RAW_TRACEPOINT, sec.KPROBE, sec.KRETPROBE, sec.KSYSCALL,
                           sec.KRETSYSCALL):
            return bool(spec.attach_target)
        if spec.attach in (sec.UPROBE, sec.URETPROBE, sec.UPROBE_MULTI, sec.URETPROBE_MULTI):
            path, function, _ = sec.split_uprobe_target(spec.attach_target)
            return bool(path) and (bool(function) or spec.attach in (sec.UPROBE, sec.URETPROBE))
        if spec.attach == sec.USDT:
            return bool(sec.split_usdt_target(spec.attach_target)[0])
        if spec.attach in (sec.TRACING, sec.ITER):
            return True
        if spec.attach == sec.PERF_EVENT:
            return bool(sample_period)
        if spec.attach in (sec.XDP, sec.TC, sec.SOCKET):
            return interface is not None
        if spec.attach == sec.CGROUP:
            return cgroup is not None and spec.expected_attach_type is not None
        return False

    def attach_program(self, name: str, target: str = "", *, interface: Union[str, int, None] = None,
                       cgroup: Optional[str] = None, sock: Any = None, pid: int = -1,
                       sample_period: Optional[int] = None) -> Any:
        """Attach program ``name`` where its section says (``target`` overrides the section's target)."""
        from .. import links

        if name not in self.programs:
            raise ObjectError(f"{self.spec.path}: program {name!r} is not loaded")
        program, spec = self.programs[name], self.spec.programs[name]
        target = target or spec.attach_target
        kind = spec.attach
        where = f"{os.path.basename(self.spec.path)}:{name} ({spec.section})"
        link: Any
        if kind == sec.TRACEPOINT and target:
            link = links.attach_tracepoint(program, target)
        elif kind == sec.RAW_TRACEPOINT and target:
            link = links.attach_raw_tracepoint(program, target)
        elif kind == sec.TRACING:
            link = links.attach_raw_tracepoint(program, "")  # the kernel knows the target from attach_btf_id
            link.target = spec.section.replace("/", " ", 1)
        elif kind in (sec.KPROBE, sec.KRETPROBE) and target:
            function, offset = sec.split_kprobe_target(target)
            link = links.attach_kprobe(program, function, offset, retprobe=kind == sec.KRETPROBE)
        elif kind in (sec.KSYSCALL, sec.KRETSYSCALL) and target:
            link = links.attach_kprobe(program, _syscall_function(target), retprobe=kind == sec.KRETSYSCALL)
        elif kind in (sec.UPROBE, sec.URETPROBE) and target:
            path, function, offset = sec.split_uprobe_target(target)
            if not path:
                raise ObjectError(f"{where}: uprobe target {target!r} is not PATH:FUNCTION[+OFFSET]")
            link = links.attach_uprobe(program, path, function, offset, pid=pid, retprobe=kind == sec.URETPROBE)
        elif kind in (sec.UPROBE_MULTI, sec.URETPROBE_MULTI) and target:
            path, pattern, _ = sec.split_uprobe_target(target)
            if not path or not pattern:
                raise ObjectError(f"{where}: uprobe.multi target {target!r} is not PATH:PATTERN")
            link = links.attach_uprobe_multi(program, path, pattern, pid=pid, retprobe=kind == sec.URETPROBE_MULTI)
        elif kind == sec.USDT and target:
            path, provider, probe = sec.split_usdt_target(target)
            if not path:
                raise ObjectError(f"{where}: usdt target {target!r} is not PATH:PROVIDER:NAME")
            link = links.attach_usdt(program, path, provider, probe, pid=pid, cookie=self._usdt_spec_id())
        elif kind == sec.ITER:
            link = links.attach_iter(program, target)
        elif kind == sec.PERF_EVENT and sample_period:
            link = links.attach_perf_event(program, sample_period=sample_period)
        elif kind == sec.SOCKET and (sock is not None or interface is not None):
            link = (links.attach_socket_filter(program, sock) if sock is not None
                    else links.attach_raw_socket(program, str(interface)))
        elif kind == sec.XDP and interface is not None:
            link = links.attach_xdp(program, interface)
        elif kind == sec.TC and interface is not None:
            direction = "egress" if spec.expected_attach_type == AttachType.TCX_EGRESS else "ingress"
            link = links.attach_tc(program, interface, direction)
        elif kind == sec.CGROUP and spec.expected_attach_type is not None:
            link = links.attach_cgroup(program, spec.expected_attach_type, cgroup)
        elif spec.type == ProgType.STRUCT_OPS:
            raise ObjectError(f"{where}: a struct_ops program attaches through its map",
                              "Object.attach() registers every struct_ops map, or attach_struct_ops(map name)")
        else:
            raise ObjectError(f"{where}: cannot attach automatically", _attach_hint(kind))
        self.links[name] = link
        return link

    # ----- reading maps for people -----

    def map_entries(self, name: str) -> list[tuple[Any, Any]]:
        """Map ``name``'s (key, value) pairs decoded through the object's BTF: struct fields as dicts, enums by name,
        ``char[]`` as text; per-CPU values as one list per CPU. Without BTF, ints for 1/2/4/8 bytes, else bytes."""
        m, spec = self.maps[name], self.spec.maps[name]
        btf = self.spec.btf if self.use_btf else None
        with Map.from_fd(os.dup(m.fd), key=bytes, value=bytes) as raw:
            return [(display_value(btf, spec.btf_key_type_id, key), display_value(btf, spec.btf_value_type_id, value))
                    for key, value in raw.items()]

    # ----- pinning (bpftool's prog load / loadall / pinmaps) -----

    def pin_maps(self, directory: str) -> dict[str, str]:
        """Pin every map as ``directory/<map name>`` (libbpf's bpf_object__pin_maps); maps reused from a pin stay
        where they are. Returns the paths by map key; on failure nothing of this call stays pinned."""
        return self._pin_all(directory, {key: (m, self.spec.maps[key].name) for key, m in self.maps.items()
                                         if key not in self.reused_maps})

    def pin_programs(self, directory: str, *, links: bool = False, **targets: Any) -> dict[str, str]:
        """Pin every loaded program as ``directory/<program name>``; with ``links``, attach what the section allows
        (``targets`` as :meth:`attach` takes them) and pin the link there instead (bpftool's ``autoattach``),
        falling back to the program."""
        items: dict[str, tuple[Any, str]] = {}
        for name, program in self.programs.items():
            items[name] = (self._attached(name, targets) if links else None) or program, name
        return self._pin_all(directory, items)

    def pin_program(self, name: str, path: str, *, link: bool = False, **targets: Any) -> str:
        """Pin program ``name`` (or, with ``link``, its auto-attached link) at ``path``: bpftool's ``prog load``."""
        item = (self._attached(name, targets) if link else None) or self.programs[name]
        self._pin_one(item, path, name)
        return path

    def unpin(self) -> None:
        """Remove every pin (and directory) this object's pin methods made; maps reused from a pin keep theirs."""
        while self.pins:
            path = self.pins.pop()
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)
            elif os.path.lexists(path):
                os.unlink(path)

    def _attached(self, name: str, targets: dict[str, Any]) -> Any:
        """The program's BPF link when its section lets it attach here and the attachment is a pinnable link."""
        if name not in self.links and self.auto_attachable(name, **targets):
            self.attach_program(name, **targets)
        link = self.links.get(name)
        return link if link is not None and getattr(link, "bpf_link", False) else None

    def _pin_all(self, directory: str, items: dict[str, tuple[Any, str]]) -> dict[str, str]:
        pinned: dict[str, str] = {}
        for key, (item, name) in items.items():
            path = os.path.join(directory, name.replace("/", "_").replace(".", "_"))  # bpffs refuses dots
            self._pin_one(item, path, key)
            pinned[key] = path
        return pinned

    def _pin_one(self, item: Any, path: str, what: str) -> None:
        if os.path.lexists(path):
            raise ObjectError(f"cannot pin {what} at {path}: it exists", f"remove it first: rm {path}")
        self._make_directories(os.path.dirname(path))
        try:
            item.pin(path)
        except BPFError as exc:
            raise BPFError(exc.op, exc.errno, "pin on a bpffs mount such as /sys/fs/bpf, in names without dots",
                           f"cannot pin {what} at {path}") from None
        self.pins.append(path)

    def _make_directories(self, directory: str) -> None:
        """Create ``directory`` and missing parents (bpftool does), remembered so :meth:`unpin` removes them."""
        if not directory or os.path.isdir(directory):
            return
        self._make_directories(os.path.dirname(directory))
        os.mkdir(directory)
        self.pins.append(directory)

    def _usdt_spec_id(self) -> Optional[Callable[[Any], int]]:
        """With libbpf's usdt.bpf.h in the object: a function that stores a site's argument spec in
        ``__bpf_usdt_specs`` and returns its id, the site's BPF cookie. None without usdt.bpf.h."""
        from ..links.usdt_specs import SPECS_MAP, SpecEncoder

        specs = self.maps.get(SPECS_MAP)
        btf = self.spec.btf
        if specs is None or btf is None or not self.spec.maps[SPECS_MAP].btf_value_type_id:
            return None
        encoder = SpecEncoder(btf, self.spec.maps[SPECS_MAP].btf_value_type_id)

        def store(probe: Any) -> int:
            spec_id = self._usdt_specs_used
            if spec_id >= specs.max_entries:
                raise ObjectError(f"{self.spec.path}: more USDT sites than {SPECS_MAP} has entries "
                                  f"({specs.max_entries})", "attach fewer probes per object")
            specs[spec_id] = encoder.encode(probe)
            self._usdt_specs_used += 1
            return spec_id

        return store

    # ----- lifetime -----

    def close(self) -> None:
        """Detach every link, close programs and maps (pins stay), release the BTF."""
        for link in self.links.values():
            link.close()
        for program in self.programs.values():
            program.close()
        for m in self.maps.values():
            m.close()
        for data in self._globals.values():
            data.detach_map()
        if self.btf_fd is not None:
            self.btf_fd.close()
        self.links, self.programs, self.maps = {}, {}, {}

    def __enter__(self) -> Object:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __iter__(self) -> Iterator[Program]:
        return iter(self.programs.values())

    def __repr__(self) -> str:
        state = "loaded" if self.loaded else "opened"
        return (f"Object({self.spec.path!r}, {state}, {len(self.spec.programs)} programs, "
                f"{len(self.spec.maps)} maps)")


def _attach_hint(kind: str) -> str:
    if kind in (sec.XDP, sec.TC, sec.SOCKET):
        return "pass interface=... (CLI: --interface)"
    if kind == sec.CGROUP:
        return "pass cgroup=/sys/fs/cgroup/... (CLI: --cgroup)"
    if kind == sec.PERF_EVENT:
        return "give a sample period: sample_period=N (CLI: --sample-period N)"
    if kind in (sec.USDT, sec.UPROBE_MULTI, sec.URETPROBE_MULTI):
        return "name the target in the section: SEC(\"usdt/PATH:PROVIDER:NAME\"), SEC(\"uprobe.multi/PATH:PATTERN\")"
    return "attach it explicitly with tinybpf.links"


def _syscall_function(name: str) -> str:
    """libbpf's ksyscall: the architecture's syscall wrapper (``__x64_sys_openat``)."""
    prefixes = {"x86_64": "__x64_sys_", "aarch64": "__arm64_sys_", "s390x": "__s390x_sys_",
                "riscv64": "__riscv_sys_", "ppc64le": "sys_", "armv7l": "sys_"}
    return prefixes.get(os.uname().machine, "sys_") + name


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


def load_object(path: Union[str, os.PathLike], programs: Optional[Iterable[str]] = None, **options: Any) -> Object:
    """``Object.load_file``: open, load and return ``path``'s object."""
    return Object.load_file(path, programs, **options)


__all__ = ["PIN_ROOT", "Object", "load_object"]
