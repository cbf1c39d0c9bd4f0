"""The fixups libbpf makes to a clang object's BTF before the kernel sees it.

clang leaves every DATASEC's size and variable offsets 0 (the linker decides them), writes ``extern``
linkage the kernel refuses, and puts ksyms and kconfig externs in DATASECs no ELF section backs. libbpf's
``btf_fixup_datasec`` and ``bpf_object__collect_externs`` patch those in place; so does :class:`ObjectBTF`,
keeping every type id and string offset so ``.BTF.ext`` and the instructions' type ids stay valid (new types
and strings are only appended). It knows nothing of ELF: the object reader hands it section sizes and
symbol facts as plain data.
"""
from __future__ import annotations

import dataclasses
import struct
import sys
from array import array

from tinybpf.btf.kinds import BTF_MAGIC, Kind, Linkage
from tinybpf.btf.reader import BTF
from tinybpf.btf.types import Datasec, Func, Int, Var, Void

KCONFIG_SECTION = ".kconfig"
KSYMS_SECTION = ".ksyms"
_HEADER = struct.Struct("HBBIIIII")


@dataclasses.dataclass(frozen=True)
class SymbolFacts:
    """What the fixups need of a data symbol: its offset in its section, and whether it is hidden (static)."""

    offset: int
    hidden: bool = False


@dataclasses.dataclass(frozen=True)
class KconfigSlot:
    """Where a ``__kconfig`` extern lives in the ``.kconfig`` map, laid out as libbpf does."""

    name: str
    type_id: int
    offset: int
    size: int


@dataclasses.dataclass(frozen=True)
class Ksym:
    """A ``__ksym`` extern: a typed variable (``type_id`` its type), an untyped address (0), or a kfunc."""

    name: str
    type_id: int
    is_func: bool = False


@dataclasses.dataclass(frozen=True)
class Externs:
    kconfig: tuple[KconfigSlot, ...]
    ksyms: tuple[Ksym, ...]


class ObjectBTF:
    """A patchable copy of an object's BTF: :meth:`fixup` once, then :meth:`encode` for BPF_BTF_LOAD."""

    def __init__(self, btf: BTF) -> None:
        self.btf = btf
        self._words = array("I", btf._words)
        self._strings = bytearray(btf._strings)
        self._appended = 0

    def fixup(self, section_sizes: dict[str, int], symbols: dict[str, SymbolFacts],
              hidden_subprograms: frozenset[str] = frozenset()) -> Externs:
        """Patch every DATASEC from the ELF facts, extern FUNCs and hidden sub-programs; returns the externs laid
        out. ``hidden_subprograms`` are the global ``__hidden`` functions of ``.text``."""
        kconfig: tuple[KconfigSlot, ...] = ()
        ksyms: tuple[Ksym, ...] = ()
        for datasec in self.datasecs():
            if datasec.name == KCONFIG_SECTION:
                kconfig = self._fixup_kconfig(datasec)
            elif datasec.name == KSYMS_SECTION:
                ksyms = self._fixup_ksyms(datasec)
            else:
                self._fixup_datasec(datasec, section_sizes.get(datasec.name, 0), symbols)
        self._fixup_func_linkage(hidden_subprograms)
        return Externs(kconfig, ksyms)

    def datasecs(self) -> list[Datasec]:
        return [t for t in self.btf.types() if isinstance(t, Datasec)]

    def datasec_entries(self, datasec: Datasec) -> list[tuple[int, int, int]]:
        """The (var type id, offset, size) entries of ``datasec`` as patched."""
        at = self._record_at(datasec.id)
        return [tuple(self._words[at + 3 + 3 * i:at + 6 + 3 * i]) for i in range(len(datasec.vars))]  # type: ignore[misc]

    def linkage(self, type_id: int) -> int:
        """A VAR's or FUNC's linkage as patched."""
        at = self._record_at(type_id)
        info = self._words[at + 1]
        return int(info & 0xFFFF) if (info >> 24) & 0x1F == Kind.FUNC else int(self._words[at + 3])

    def encode(self) -> bytes:
        """The patched blob in the object's byte order."""
        words = array("I", self._words)
        if self.btf.byte_order != sys.byteorder:
            words.byteswap()
        types = words.tobytes()
        header = struct.Struct(("<" if self.btf.byte_order == "little" else ">") + _HEADER.format)
        return header.pack(BTF_MAGIC, 1, 0, header.size, 0, len(types), len(types), len(self._strings)) + \
            types + bytes(self._strings)

    # ----- the fixups -----

    def _fixup_datasec(self, datasec: Datasec, section_size: int, symbols: dict[str, SymbolFacts]) -> None:
        """Sizes come from the ELF section, offsets from the symbols; hidden variables become static."""
        size = datasec.size or section_size
        entries = []
        for info in datasec.vars:
            var = self.btf.type(info.type)
            symbol = symbols.get(var.name)
            offset = symbol.offset if symbol is not None and not datasec.size else info.offset
            if isinstance(var, Var) and symbol is not None and symbol.hidden:
                self._words[self._record_at(var.id) + 3] = Linkage.STATIC
            entries.append((info.type, offset, info.size))
        self._set_datasec(datasec, size, entries)

    def _fixup_kconfig(self, datasec: Datasec) -> tuple[KconfigSlot, ...]:
        """Lay the kconfig externs out in the ``.kconfig`` map, widest alignment first, then by name."""
        items = []
        for info in datasec.vars:
            var = self.btf.type(info.type)
            if isinstance(var, Var):
                items.append((var, self.btf.sizeof(var.type), self.btf.alignof(var.type)))
        slots = []
        laid = []
        offset = 0
        for var, size, align in sorted(items, key=lambda item: (-item[2], item[0].name)):
            offset = (offset + align - 1) // align * align
            slots.append(KconfigSlot(var.name, var.type, offset, size))
            self._words[self._record_at(var.id) + 3] = Linkage.GLOBAL
            laid.append((var.id, offset, size))
            offset += size
        self._set_datasec(datasec, offset, laid)
        return tuple(slots)

    def _fixup_ksyms(self, datasec: Datasec) -> tuple[Ksym, ...]:
        """Typed ksyms keep their type, but the kernel only accepts int-sized allocated VARs in a DATASEC."""
        int_id = self._int_type()
        dummy = 0
        entries = []
        found = []
        for i, info in enumerate(datasec.vars):
            t = self.btf.type(info.type)
            if isinstance(t, Func):
                found.append(Ksym(t.name, t.id, is_func=True))
                if not dummy:
                    dummy = self._append_type([self._string("dummy_ksym"), Kind.VAR << 24, int_id, Linkage.GLOBAL])
                entries.append((dummy, 4 * i, 4))
                continue
            if not isinstance(t, Var):
                continue
            typed = not isinstance(self.btf.resolve(t.type), Void)
            found.append(Ksym(t.name, t.type if typed else 0))
            at = self._record_at(t.id)
            self._words[at + 2] = int_id
            self._words[at + 3] = Linkage.GLOBAL
            entries.append((t.id, 4 * i, 4))
        self._set_datasec(datasec, 4 * len(datasec.vars), entries)
        return tuple(found)

    def _fixup_func_linkage(self, hidden: frozenset[str]) -> None:
        """Extern FUNC linkage (kfunc prototypes) is invalid in program BTF: make it global. A ``__hidden`` global
        sub-program becomes static, so the verifier checks it in its caller's context as libbpf arranges
        (usdt.bpf.h's ``bpf_usdt_arg`` writes through a pointer a global function would have to NULL-check)."""
        for type_id in range(self.btf.first_id, self.btf.count):
            at = self._record_at(type_id)
            info = self._words[at + 1]
            if (info >> 24) & 0x1F != Kind.FUNC:
                continue
            linkage = info & 0xFFFF
            if linkage == Linkage.EXTERN:
                self._words[at + 1] = (info & ~0xFFFF) | Linkage.GLOBAL
            elif linkage == Linkage.GLOBAL and hidden and self.btf.string(self._words[at]) in hidden:
                self._words[at + 1] = (info & ~0xFFFF) | Linkage.STATIC

    # ----- raw words -----

    def _record_at(self, type_id: int) -> int:
        return int(self.btf._offsets[type_id - self.btf.first_id])

    def _set_datasec(self, datasec: Datasec, size: int, entries: list[tuple[int, int, int]]) -> None:
        at = self._record_at(datasec.id)
        self._words[at + 2] = size
        for i, (type_id, offset, var_size) in enumerate(sorted(entries, key=lambda e: e[1])):
            self._words[at + 3 + 3 * i:at + 6 + 3 * i] = array("I", [type_id, offset, var_size])

    def _int_type(self) -> int:
        for t in self.btf.find_all("int", Kind.INT):
            if isinstance(t, Int) and t.size == 4:
                return t.id
        return self._append_type([self._string("int"), Kind.INT << 24, 4, (1 << 24) | 32])

    def _string(self, text: str) -> int:
        offset = len(self._strings)
        self._strings += text.encode() + b"\0"
        return offset

    def _append_type(self, words: list[int]) -> int:
        self._words.extend(words)
        self._appended += 1
        return self.btf.count + self._appended - 1


__all__ = ["Externs", "KconfigSlot", "Ksym", "ObjectBTF", "SymbolFacts"]
