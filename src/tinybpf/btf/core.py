"""CO-RE: compute what a ``bpf_core_relo`` asks for on the target kernel's BTF, and patch the instruction.

This follows libbpf's ``relo_core.c``: the local access string (``"0:1:2"``) becomes a *spec* (accessors
with member names and a bit offset); every target type with the same *essential* name (``task_struct___v1``
-> ``task_struct``) and a compatible kind is a candidate; the candidates that match must agree on the value.
Nothing matched: existence checks give 0, everything else *poisons* the instruction (a call to helper
0xbad2310) so the verifier only complains if that code can run.

Pure functions: no kernel calls. ``target`` is usually :func:`tinybpf.btf.kernel_btf`.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Optional, Union

from tinybpf.btf.ext import CoreRelo
from tinybpf.btf.kinds import CoreReloKind, IntEncoding
from tinybpf.btf.reader import BTF
from tinybpf.btf.types import (
    COMPOSITES,
    ENUMS,
    QUALIFIERS,
    AnyType,
    Array,
    Enum,
    Enum64,
    Float,
    FuncProto,
    Fwd,
    Int,
    Ptr,
    Struct,
    Typedef,
    Void,
)
from tinybpf.btf.types import Union as UnionType
from tinybpf.errors import TinyBPFError

POISON = 0xBAD2310
"""The helper id a poisoned instruction calls (libbpf's ``BPF_CORE_POISON_VALUE``)."""

MAX_SPEC_LEN = 64
MAX_LEVEL = 32

_FIELD_KINDS = frozenset({
    CoreReloKind.FIELD_BYTE_OFFSET, CoreReloKind.FIELD_BYTE_SIZE, CoreReloKind.FIELD_EXISTS,
    CoreReloKind.FIELD_SIGNED, CoreReloKind.FIELD_LSHIFT_U64, CoreReloKind.FIELD_RSHIFT_U64,
})
_TYPE_KINDS = frozenset({
    CoreReloKind.TYPE_ID_LOCAL, CoreReloKind.TYPE_ID_TARGET, CoreReloKind.TYPE_EXISTS,
    CoreReloKind.TYPE_SIZE, CoreReloKind.TYPE_MATCHES,
})
_ENUM_KINDS = frozenset({CoreReloKind.ENUMVAL_EXISTS, CoreReloKind.ENUMVAL_VALUE})


class CoreError(TinyBPFError):
    """A CO-RE relocation cannot be resolved (malformed, or ambiguous on the target)."""


class _Poison(Exception):
    """Signals that the instruction must be poisoned (libbpf's -EUCLEAN)."""


@dataclass(frozen=True)
class Accessor:
    type_id: int
    index: int
    name: str = ""


@dataclass
class Spec:
    """Where an access string leads in one BTF: accessors (named members, array indexes) and a bit offset."""

    btf: BTF
    root_type_id: int
    kind: CoreReloKind
    accessors: list[Accessor] = field(default_factory=list)
    raw: list[int] = field(default_factory=list)
    bit_offset: int = 0


@dataclass(frozen=True)
class CoreResult:
    """libbpf's ``bpf_core_relo_res``: the value the compiler assumed, the one for the target, and how to patch."""

    orig_value: int
    new_value: int
    poison: bool = False
    validate: bool = True
    orig_size: int = 0
    new_size: int = 0
    fail_memsz_adjust: bool = False
    description: str = ""


def essential_name(name: str) -> str:
    """``task_struct___v2`` -> ``task_struct``: the part before a ``X___Y`` flavour suffix."""
    for i in range(len(name) - 5, -1, -1):
        if name[i] != "_" and name[i + 1:i + 4] == "___" and name[i + 4] != "_":
            return name[:i + 1]
    return name


def _skip_mods(btf: BTF, type_id: int) -> tuple[AnyType, int]:
    """Skip typedefs and qualifiers, returning the type and its id (libbpf's skip_mods_and_typedefs)."""
    t = btf.type(type_id)
    for _ in range(MAX_LEVEL):
        if not isinstance(t, (Typedef, *QUALIFIERS)):
            return t, type_id
        type_id = t.type
        t = btf.type(type_id)
    raise CoreError(f"{btf.name}: type id {type_id}: typedef chain too deep")


def _kind_compat(local: AnyType, target: AnyType) -> bool:
    return local.kind == target.kind or (isinstance(local, ENUMS) and isinstance(target, ENUMS))


def _int_offset(t: Int) -> int:
    return t.bit_offset


# ----- spec parsing ---------------------------------------------------------------------------------


def parse_spec(btf: BTF, type_id: int, access: str, kind: CoreReloKind) -> Spec:
    """The local spec of a relocation (libbpf's bpf_core_parse_spec)."""
    spec = Spec(btf, type_id, kind)
    try:
        raw = [int(part) for part in access.split(":")]
    except ValueError:
        raise CoreError(f"bad CO-RE access string {access!r}") from None
    if not raw or len(raw) > MAX_SPEC_LEN:
        raise CoreError(f"bad CO-RE access string {access!r}")
    spec.raw = raw
    if kind in _TYPE_KINDS:
        if access != "0":
            raise CoreError(f"type relocation with access string {access!r} (want '0')")
        return spec
    t, tid = _skip_mods(btf, type_id)
    spec.accessors.append(Accessor(tid, raw[0]))
    if kind in _ENUM_KINDS:
        if not isinstance(t, ENUMS) or len(raw) > 1 or raw[0] >= len(t.values):
            raise CoreError(f"enum relocation on {btf.c_name(type_id)} with access {access!r}")
        spec.accessors[0] = Accessor(tid, raw[0], t.values[raw[0]].name)
        return spec
    if kind not in _FIELD_KINDS:
        raise CoreError(f"unknown CO-RE relocation kind {kind}")
    spec.bit_offset = raw[0] * btf.sizeof(tid) * 8
    for index in raw[1:]:
        t, tid = _skip_mods(btf, tid)
        if isinstance(t, COMPOSITES):
            if index >= len(t.members):
                raise CoreError(f"access {access!r}: {btf.c_name(tid)} has no member #{index}")
            member = t.members[index]
            spec.bit_offset += member.bit_offset
            if member.name:
                spec.accessors.append(Accessor(tid, index, member.name))
            tid = member.type
        elif isinstance(t, Array):
            _elem, tid = _skip_mods(btf, t.type)
            if not _is_flex(btf, spec.accessors[-1], t) and index >= t.nelems:
                raise CoreError(f"access {access!r}: index {index} out of bounds of {btf.c_name(t.id)}")
            spec.accessors.append(Accessor(tid, index))
            spec.bit_offset += index * btf.sizeof(tid) * 8
        else:
            raise CoreError(f"access {access!r} goes through {btf.c_name(tid)}, which has no members")
    return spec


def _is_flex(btf: BTF, accessor: Accessor, array: Array) -> bool:
    """A zero-length array that is the last member of its struct (``char data[]``)."""
    if not accessor.name or array.nelems > 0:
        return False
    parent = btf.type(accessor.type_id)
    return isinstance(parent, COMPOSITES) and accessor.index == len(parent.members) - 1


# ----- compatibility --------------------------------------------------------------------------------


def types_are_compat(local: BTF, local_id: int, target: BTF, target_id: int, level: int = MAX_LEVEL) -> bool:
    """libbpf's bpf_core_types_are_compat: same kind after typedefs; pointers/arrays/protos recurse."""
    for _ in range(level):
        lt, local_id = _skip_mods(local, local_id)
        tt, target_id = _skip_mods(target, target_id)
        if not _kind_compat(lt, tt):
            return False
        if isinstance(lt, (Void, Struct, UnionType, Enum, Enum64, Fwd)):
            return True
        if isinstance(lt, Int):
            assert isinstance(tt, Int)
            return _int_offset(lt) == 0 and _int_offset(tt) == 0
        if isinstance(lt, Ptr):
            assert isinstance(tt, Ptr)
            local_id, target_id = lt.type, tt.type
            continue
        if isinstance(lt, Array):
            assert isinstance(tt, Array)
            local_id, target_id = lt.type, tt.type
            continue
        if isinstance(lt, FuncProto):
            assert isinstance(tt, FuncProto)
            if len(lt.params) != len(tt.params):
                return False
            if not all(types_are_compat(local, lp.type, target, tp.type, level - 1)
                       for lp, tp in zip(lt.params, tt.params)):
                return False
            local_id, target_id = lt.return_type, tt.return_type
            continue
        return False
    return False


def fields_are_compat(local: BTF, local_id: int, target: BTF, target_id: int) -> bool:
    """libbpf's bpf_core_fields_are_compat: composites always, scalars by kind, enums/fwds by name."""
    for _ in range(MAX_LEVEL):
        lt, local_id = _skip_mods(local, local_id)
        tt, target_id = _skip_mods(target, target_id)
        if isinstance(lt, COMPOSITES) and isinstance(tt, COMPOSITES):
            return True
        if not _kind_compat(lt, tt):
            return False
        if isinstance(lt, (Ptr, Float)):
            return True
        if isinstance(lt, (Fwd, Enum, Enum64)):
            ln, tn = essential_name(lt.name), essential_name(tt.name)
            return not ln or not tn or ln == tn
        if isinstance(lt, Int):
            assert isinstance(tt, Int)
            return _int_offset(lt) == 0 and _int_offset(tt) == 0
        if isinstance(lt, Array):
            assert isinstance(tt, Array)
            local_id, target_id = lt.type, tt.type
            continue
        return False
    return False


def _names_match(local_name: str, target_name: str) -> bool:
    if not target_name:
        return not local_name
    return essential_name(local_name) == essential_name(target_name)


def types_match(local: BTF, local_id: int, target: BTF, target_id: int, behind_ptr: bool = False,
                level: int = MAX_LEVEL) -> bool:
    """libbpf's bpf_core_types_match (``bpf_core_type_matches``): a stricter, layout-aware comparison."""
    if level <= 0:
        raise CoreError("type match recursion too deep")
    lt, local_id = _skip_mods(local, local_id)
    tt, target_id = _skip_mods(target, target_id)
    if not _names_match(lt.name, tt.name):
        return False
    if isinstance(lt, Void):
        return isinstance(tt, Void)
    if isinstance(lt, Fwd):
        if isinstance(tt, Fwd):
            return lt.union == tt.union
        return behind_ptr and (isinstance(tt, UnionType) if lt.union else isinstance(tt, Struct))
    if isinstance(lt, ENUMS):
        if not isinstance(tt, ENUMS):
            return False
        return all(any(_names_match(lv.name, tv.name) for tv in tt.values) for lv in lt.values)
    if isinstance(lt, COMPOSITES):
        if behind_ptr:
            if lt.kind == tt.kind:
                return True
            return isinstance(tt, Fwd) and tt.union == isinstance(lt, UnionType)
        if lt.kind != tt.kind or not isinstance(tt, COMPOSITES) or len(lt.members) > len(tt.members):
            return False
        return all(
            any(_names_match(lm.name, tm.name) and types_match(local, lm.type, target, tm.type, behind_ptr,
                                                                 level - 1) for tm in tt.members)
            for lm in lt.members
        )
    if isinstance(lt, Int):
        if not isinstance(tt, Int):
            return False
        return lt.size == tt.size and (lt.encoding & IntEncoding.SIGNED) == (tt.encoding & IntEncoding.SIGNED)
    if isinstance(lt, Ptr):
        return isinstance(tt, Ptr) and types_match(local, lt.type, target, tt.type, True, level - 1)
    if isinstance(lt, Array):
        return (isinstance(tt, Array) and lt.nelems == tt.nelems
                and types_match(local, lt.type, target, tt.type, behind_ptr, level - 1))
    if isinstance(lt, FuncProto):
        if not isinstance(tt, FuncProto) or len(lt.params) != len(tt.params):
            return False
        return all(types_match(local, lp.type, target, tp.type, behind_ptr, level - 1)
                   for lp, tp in zip(lt.params, tt.params)) and types_match(
            local, lt.return_type, target, tt.return_type, behind_ptr, level - 1)
    return False


# ----- matching a spec on a candidate ---------------------------------------------------------------


def _match_member(local: BTF, accessor: Accessor, target: BTF, target_id: int, spec: Spec,
                  depth: int = 0) -> Optional[int]:
    """Find the member ``accessor`` names inside target composite ``target_id`` (through anonymous members).

    Returns the member's type id on a match (and extends ``spec``), else None.
    """
    if depth > MAX_LEVEL:
        raise CoreError("anonymous members nest too deep")
    local_parent = local.type(accessor.type_id)
    assert isinstance(local_parent, COMPOSITES)
    local_member = local_parent.members[accessor.index]
    tt, target_id = _skip_mods(target, target_id)
    if not isinstance(tt, COMPOSITES):
        return None
    for i, member in enumerate(tt.members):
        if len(spec.raw) >= MAX_SPEC_LEN:
            raise CoreError("CO-RE access too deep")
        spec.bit_offset += member.bit_offset
        spec.raw.append(i)
        if not member.name:
            found = _match_member(local, accessor, target, member.type, spec, depth + 1)
            if found is not None:
                return found
        elif member.name == accessor.name:
            if not fields_are_compat(local, local_member.type, target, member.type):
                spec.bit_offset -= member.bit_offset
                spec.raw.pop()
                return None
            spec.accessors.append(Accessor(target_id, i, member.name))
            return member.type
        spec.bit_offset -= member.bit_offset
        spec.raw.pop()
    return None


def match_spec(local_spec: Spec, target: BTF, target_id: int) -> Optional[Spec]:
    """The target spec for candidate ``target_id``, or None when it does not match (bpf_core_spec_match)."""
    spec = Spec(target, target_id, local_spec.kind)
    kind = local_spec.kind
    local = local_spec.btf
    if kind in _TYPE_KINDS:
        if kind == CoreReloKind.TYPE_MATCHES:
            ok = types_match(local, local_spec.root_type_id, target, target_id)
        else:
            ok = types_are_compat(local, local_spec.root_type_id, target, target_id)
        return spec if ok else None
    first = local_spec.accessors[0]
    if kind in _ENUM_KINDS:
        tt, target_id = _skip_mods(target, target_id)
        if not isinstance(tt, ENUMS):
            return None
        wanted = essential_name(first.name)
        for i, value in enumerate(tt.values):
            if essential_name(value.name) == wanted:
                spec.accessors.append(Accessor(target_id, i, value.name))
                spec.raw.append(i)
                return spec
        return None
    for position, accessor in enumerate(local_spec.accessors):
        tt, target_id = _skip_mods(target, target_id)
        if accessor.name:
            found = _match_member(local, accessor, target, target_id, spec)
            if found is None:
                return None
            target_id = found
            continue
        if position > 0:
            if not isinstance(tt, Array):
                return None
            if not _is_flex(target, spec.accessors[-1], tt) and accessor.index >= tt.nelems:
                return None
            _, target_id = _skip_mods(target, tt.type)
        if len(spec.raw) >= MAX_SPEC_LEN:
            raise CoreError("CO-RE access too deep")
        spec.accessors.append(Accessor(target_id, accessor.index))
        spec.raw.append(accessor.index)
        spec.bit_offset += accessor.index * target.sizeof(target_id) * 8
    return spec


# ----- computing values -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Value:
    value: int
    size: int = 0
    type_id: int = 0
    validate: bool = True


def _field_value(kind: CoreReloKind, spec: Optional[Spec]) -> _Value:
    if kind == CoreReloKind.FIELD_EXISTS:
        return _Value(1 if spec is not None else 0)
    if spec is None:
        raise _Poison
    btf = spec.btf
    last = spec.accessors[-1]
    if not last.name:  # an array element
        size = btf.sizeof(last.type_id)
        if kind == CoreReloKind.FIELD_BYTE_OFFSET:
            return _Value(spec.bit_offset // 8, size, last.type_id)
        if kind == CoreReloKind.FIELD_BYTE_SIZE:
            return _Value(size)
        raise CoreError(f"{kind.name} relocation on an array element")
    parent = btf.type(last.type_id)
    assert isinstance(parent, COMPOSITES)
    member = parent.members[last.index]
    member_type, field_type_id = _skip_mods(btf, member.type)
    bit_off = spec.bit_offset
    bit_size = member.bitfield_size
    bitfield = bit_size > 0
    if bitfield:
        byte_size = getattr(member_type, "size", 0) or 1
        byte_off = bit_off // 8 // byte_size * byte_size
        while bit_off + bit_size - byte_off * 8 > byte_size * 8:
            if byte_size >= 8:
                raise CoreError(f"bitfield {member.name!r} spans more than 8 bytes")
            byte_size *= 2
            byte_off = bit_off // 8 // byte_size * byte_size
    else:
        byte_size = btf.sizeof(field_type_id)
        byte_off = bit_off // 8
        bit_size = byte_size * 8
    if kind == CoreReloKind.FIELD_BYTE_OFFSET:
        if bitfield:
            return _Value(byte_off, validate=False)
        return _Value(byte_off, byte_size, field_type_id)
    if kind == CoreReloKind.FIELD_BYTE_SIZE:
        return _Value(byte_size, validate=not bitfield)
    if kind == CoreReloKind.FIELD_SIGNED:
        signed = (isinstance(member_type, ENUMS) and member_type.signed) or (
            isinstance(member_type, Int) and bool(member_type.encoding & IntEncoding.SIGNED))
        return _Value(int(signed))
    if kind == CoreReloKind.FIELD_LSHIFT_U64:
        if btf.byte_order == "little":
            return _Value(64 - (bit_off + bit_size - byte_off * 8), validate=not bitfield)
        return _Value((8 - byte_size) * 8 + (bit_off - byte_off * 8), validate=not bitfield)
    if kind == CoreReloKind.FIELD_RSHIFT_U64:
        return _Value(64 - bit_size)
    raise CoreError(f"unknown field relocation kind {kind}")


def _type_value(kind: CoreReloKind, spec: Optional[Spec]) -> _Value:
    if spec is None:
        return _Value(0)
    if kind in (CoreReloKind.TYPE_ID_TARGET, CoreReloKind.TYPE_ID_LOCAL):
        return _Value(spec.root_type_id)
    if kind in (CoreReloKind.TYPE_EXISTS, CoreReloKind.TYPE_MATCHES):
        return _Value(1)
    if kind == CoreReloKind.TYPE_SIZE:
        return _Value(spec.btf.sizeof(spec.root_type_id))
    raise CoreError(f"unknown type relocation kind {kind}")


def _enum_value(kind: CoreReloKind, spec: Optional[Spec]) -> _Value:
    if kind == CoreReloKind.ENUMVAL_EXISTS:
        return _Value(1 if spec is not None else 0)
    if spec is None:
        raise _Poison
    accessor = spec.accessors[0]
    t = spec.btf.type(accessor.type_id)
    assert isinstance(t, ENUMS)
    return _Value(t.values[accessor.index].value)


def _value(kind: CoreReloKind, spec: Optional[Spec]) -> _Value:
    if kind in _FIELD_KINDS:
        return _field_value(kind, spec)
    if kind in _TYPE_KINDS:
        return _type_value(kind, spec)
    return _enum_value(kind, spec)


# ----- candidates and the whole relocation ---------------------------------------------------------


class CandidateCache:
    """Target candidates per local type, shared by all relocations of one object load."""

    def __init__(self, target: BTF) -> None:
        self.target = target
        self._by_name: dict[tuple[str, int], list[int]] = {}

    def candidates(self, local_type: AnyType) -> list[int]:
        name = essential_name(local_type.name)
        key = (name, int(local_type.kind))
        found = self._by_name.get(key)
        if found is None:
            found = [t.id for t in self.target.find_all(name) if _kind_compat(local_type, t)]
            self._by_name[key] = found
        return found


def resolve(local: BTF, relo: CoreRelo, target: Union[BTF, CandidateCache]) -> CoreResult:
    """What relocation ``relo`` (on ``local`` BTF) evaluates to against ``target`` BTF."""
    cache = target if isinstance(target, CandidateCache) else CandidateCache(target)
    local_type = local.type(relo.type_id)
    local_spec = parse_spec(local, relo.type_id, relo.access, relo.kind)
    what = f"{relo.kind.name.lower()} of {local.c_name(relo.type_id)} access {relo.access}"
    if relo.kind == CoreReloKind.TYPE_ID_LOCAL:
        return CoreResult(relo.type_id, relo.type_id, description=what)
    if not local_type.name:
        raise CoreError(f"CO-RE {what}: relocation on an anonymous type")
    local_value = _value(relo.kind, local_spec)
    chosen: Optional[Spec] = None
    chosen_value: Optional[_Value] = None
    for candidate in cache.candidates(local_type):
        spec = match_spec(local_spec, cache.target, candidate)
        if spec is None:
            continue
        try:
            value = _value(relo.kind, spec)
        except _Poison:
            continue
        if chosen_value is not None and (value.value != chosen_value.value or value.size != chosen_value.size):
            raise CoreError(f"CO-RE {what}: ambiguous, candidates give {chosen_value.value} and {value.value}",
                            "rename the local type with a ___flavour suffix that matches one target")
        chosen, chosen_value = spec, value
    try:
        new = chosen_value if chosen_value is not None else _value(relo.kind, None)
    except _Poison:
        return CoreResult(local_value.value, 0, poison=True, description=what)
    fail_adjust = False
    if relo.kind in _FIELD_KINDS and chosen is not None and local_value.size != new.size:
        fail_adjust = not _size_change_ok(local, local_value.type_id, cache.target, new.type_id)
    return CoreResult(local_value.value, new.value, validate=local_value.validate, orig_size=local_value.size,
                      new_size=new.size, fail_memsz_adjust=fail_adjust, description=what)


def _size_change_ok(local: BTF, local_id: int, target: BTF, target_id: int) -> bool:
    """A load may change width only for pointers and unsigned integers (zero extension keeps the value)."""
    lt, tt = local.type(local_id), target.type(target_id)
    if isinstance(lt, Ptr) and isinstance(tt, Ptr):
        return True
    return (isinstance(lt, Int) and isinstance(tt, Int) and not lt.encoding & IntEncoding.SIGNED
            and not tt.encoding & IntEncoding.SIGNED)


# ----- patching --------------------------------------------------------------------------------------

_SIZE_BYTES = {0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8}
_BYTES_SIZE = {4: 0x00, 2: 0x08, 1: 0x10, 8: 0x18}
_CLASS_LD, _CLASS_LDX, _CLASS_ST, _CLASS_STX, _CLASS_ALU, _CLASS_ALU64 = 0x00, 0x01, 0x02, 0x03, 0x04, 0x07
_LD_IMM64 = 0x18
_CALL = 0x85


def poison(insns: bytearray, index: int, order: str) -> None:
    """Make instruction ``index`` a call to an invalid helper: harmless in dead code, a clear verifier error if not."""
    fmt = struct.Struct(order + "BBhi")
    wide = insns[index * 8] == _LD_IMM64
    fmt.pack_into(insns, index * 8, _CALL, 0, 0, POISON)
    if wide and (index + 1) * 8 < len(insns):
        fmt.pack_into(insns, (index + 1) * 8, _CALL, 0, 0, POISON)


def patch(insns: bytearray, index: int, result: CoreResult, order: str) -> None:
    """Apply ``result`` to instruction ``index`` of ``insns`` (libbpf's bpf_core_patch_insn)."""
    if result.poison:
        poison(insns, index, order)
        return
    fmt = struct.Struct(order + "BBhi")
    if (index + 1) * 8 > len(insns):
        raise CoreError(f"CO-RE {result.description}: instruction {index} is past the program end")
    code, regs, off, imm = fmt.unpack_from(insns, index * 8)
    cls = code & 0x07
    new = result.new_value
    where = f"CO-RE {result.description} at instruction {index}"
    if cls in (_CLASS_ALU, _CLASS_ALU64):
        if code & 0x08:
            raise CoreError(f"{where}: ALU instruction has a register source")
        if result.validate and imm != result.orig_value:
            raise CoreError(f"{where}: instruction has {imm}, expected {result.orig_value}")
        fmt.pack_into(insns, index * 8, code, regs, off, _s32(new))
    elif cls in (_CLASS_LDX, _CLASS_ST, _CLASS_STX):
        if result.validate and off != result.orig_value:
            raise CoreError(f"{where}: instruction has offset {off}, expected {result.orig_value}")
        if new > 0x7FFF:
            raise CoreError(f"{where}: offset {new} does not fit an instruction")
        if result.fail_memsz_adjust:
            poison(insns, index, order)
            return
        if result.new_size != result.orig_size:
            if _SIZE_BYTES.get(code & 0x18) != result.orig_size or result.new_size not in _BYTES_SIZE:
                raise CoreError(f"{where}: cannot change the access size to {result.new_size} bytes")
            code = (code & ~0x18) | _BYTES_SIZE[result.new_size]
        fmt.pack_into(insns, index * 8, code, regs, new, imm)
    elif code == _LD_IMM64 and cls == _CLASS_LD:
        if (index + 2) * 8 > len(insns):
            raise CoreError(f"{where}: ld_imm64 is cut short")
        high = fmt.unpack_from(insns, index * 8 + 8)[3]
        current = (imm & 0xFFFFFFFF) | ((high & 0xFFFFFFFF) << 32)
        if result.validate and current != result.orig_value & 0xFFFFFFFFFFFFFFFF:
            raise CoreError(f"{where}: instruction has {current}, expected {result.orig_value}")
        value = new & 0xFFFFFFFFFFFFFFFF
        fmt.pack_into(insns, index * 8, code, regs, off, _s32(value & 0xFFFFFFFF))
        fmt.pack_into(insns, index * 8 + 8, 0, 0, 0, _s32(value >> 32))
    else:
        raise CoreError(f"{where}: cannot patch opcode {code:#04x}")


def _s32(value: int) -> int:
    value &= 0xFFFFFFFF
    return value - (1 << 32) if value & 0x80000000 else value


__all__ = [
    "POISON",
    "CandidateCache",
    "CoreError",
    "CoreResult",
    "essential_name",
    "fields_are_compat",
    "match_spec",
    "parse_spec",
    "patch",
    "poison",
    "resolve",
    "types_are_compat",
    "types_match",
]
