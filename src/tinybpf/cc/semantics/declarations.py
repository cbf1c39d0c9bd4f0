"""Declarations as written -> C types: specifier combinations, tags, typedefs, declarator layers.

``Scope`` holds what C's name spaces hold (tags, and ordinary identifiers: typedefs, enum constants,
objects and functions). ``TypeResolver`` turns a ``DeclSpecs`` plus a ``Declarator`` into a ``CType``,
laying records out when their definitions are met and evaluating the integer constant expressions
declarations contain (array lengths, bitfield widths, enumerator values, ``aligned(N)``).
"""
from __future__ import annotations

from typing import Callable, Optional, Union

from tinybpf.cc.diagnostics import Diagnostics
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.semantics import expressions
from tinybpf.cc.semantics.constants import ConstantError, evaluate
from tinybpf.cc.semantics.scopes import Ordinary, Scope
from tinybpf.cc.syntax import ast

_SPECIFIER_SETS: dict[tuple[str, ...], str] = {}


def _add(spelling: str, *names: str) -> None:
    for name in names:
        _SPECIFIER_SETS[tuple(sorted(name.split()))] = spelling


_add("void", "void")
_add("_Bool", "_Bool")
_add("char", "char")
_add("signed char", "signed char")
_add("unsigned char", "unsigned char")
_add("short", "short", "short int", "signed short", "signed short int")
_add("unsigned short", "unsigned short", "unsigned short int")
_add("int", "int", "signed", "signed int")
_add("unsigned int", "unsigned", "unsigned int")
_add("long", "long", "long int", "signed long", "signed long int")
_add("unsigned long", "unsigned long", "unsigned long int")
_add("long long", "long long", "long long int", "signed long long", "signed long long int")
_add("unsigned long long", "unsigned long long", "unsigned long long int")
_add("__int128", "__int128", "signed __int128")
_add("unsigned __int128", "unsigned __int128")
_add("float", "float")
_add("double", "double")
_add("long double", "long double")
_add("__builtin_va_list", "__builtin_va_list")


class TypeResolver:
    """Resolves written types in a scope chain; ``external`` supplies types no declaration made
    (the kernel's, from BTF): tags as ``("struct", name)`` and typedef/enum-constant names."""

    def __init__(
        self,
        diagnostics: Diagnostics,
        external_tag: Optional[Callable[[str, str], Optional[Union[ct.Record, ct.Enum]]]] = None,
        external_name: Optional[Callable[[str], Optional[Ordinary]]] = None,
    ) -> None:
        self.diagnostics = diagnostics
        self.scope = Scope()
        self.external_tag = external_tag
        self.external_name = external_name

    # ----- lookups

    def lookup_name(self, name: str) -> Optional[Ordinary]:
        found = self.scope.name(name)
        if found is None and self.external_name is not None:
            found = self.external_name(name)
        return found

    def _lookup_tag(self, kind: str, name: str) -> Optional[Union[ct.Record, ct.Enum]]:
        found = self.scope.tag(name)
        if found is None and self.external_tag is not None:
            found = self.external_tag(kind, name)
        return found

    def constant(self, expr: ast.Expr) -> int:
        """An integer constant expression's value; an error (and 0) when it is not one."""
        try:
            return evaluate(expr, self)
        except ConstantError as exc:
            self.diagnostics.error(str(exc), exc.loc)
            return 0

    # ----- types

    def type_of(self, specs: ast.DeclSpecs, declarator: Optional[ast.Declarator]) -> ct.CType:
        base = self.base_type(specs)
        return self.derive(base, declarator.layers if declarator else [])

    def type_name(self, type_name: ast.TypeName) -> ct.CType:
        return self.type_of(type_name.specs, type_name.declarator)

    def base_type(self, specs: ast.DeclSpecs) -> ct.CType:
        const = "const" in specs.qualifiers
        volatile = "volatile" in specs.qualifiers
        keywords: list[str] = []
        other: Optional[ct.CType] = None
        for spec in specs.specifiers:
            if isinstance(spec, ast.RecordSpec):
                other = self.record(spec)
            elif isinstance(spec, ast.EnumSpec):
                other = self.enum(spec)
            elif isinstance(spec, ast.TypeofSpec):
                other = self.typeof(spec)
            elif spec == specs.typedef_name:
                found = self.lookup_name(spec)
                other = found.type if found is not None and found.typedef and found.type is not None else None
                if other is None:
                    self.diagnostics.error(f"unknown type name '{spec}'", specs.loc)
                    other = ct.INT_TYPES["int"]
            else:
                keywords.append(spec)
        if other is not None:
            if keywords:
                self.diagnostics.error("cannot combine with previous declaration specifier", specs.loc)
            return ct.qualified(other, const, volatile)
        spelling = _SPECIFIER_SETS.get(tuple(sorted(keywords)))
        if spelling is None:
            self.diagnostics.error(f"invalid combination of type specifiers '{' '.join(keywords)}'", specs.loc)
            spelling = "int"
        return ct.qualified(_keyword_type(spelling), const, volatile)

    def derive(self, base: ct.CType, layers: list[ast.Layer]) -> ct.CType:
        """Apply a declarator's layers, innermost (the last) to outermost (the first, at the name)."""
        result = base
        for layer in reversed(layers):
            if isinstance(layer, ast.PointerLayer):
                tags = tuple(str(a.args[0].value.decode()) for a in layer.attributes
                             if a.name == "btf_type_tag" and a.args and isinstance(a.args[0], ast.StringLit))
                result = ct.Pointer(result, "const" in layer.qualifiers, "volatile" in layer.qualifiers,
                                    "restrict" in layer.qualifiers, tags)
            elif isinstance(layer, ast.ArrayLayer):
                length = None
                if layer.size is not None:
                    length = self.constant(layer.size)
                    if length < 0:
                        self.diagnostics.error("array size is negative", layer.loc)
                        length = 0
                result = ct.Array(result, length)
            else:
                params = tuple((p.declarator.name or "", self._parameter(self.type_of(p.specs, p.declarator)))
                               for p in layer.params)
                result = ct.Function(result, params, layer.variadic, layer.prototype)
        return result

    @staticmethod
    def _parameter(ctype: ct.CType) -> ct.CType:
        """Parameters of array and function type are pointers (C11 6.7.6.3)."""
        plain = ct.strip_typedefs(ctype)
        if isinstance(plain, ct.Array):
            return ct.Pointer(plain.element)
        if isinstance(plain, ct.Function):
            return ct.Pointer(plain)
        return ctype

    def typeof(self, spec: ast.TypeofSpec) -> ct.CType:
        if spec.type is not None:
            return self.type_name(spec.type)
        assert spec.expr is not None
        try:
            return expressions.type_of(spec.expr, self)
        except expressions.TypeError_ as exc:
            self.diagnostics.error(str(exc), exc.loc)
            return ct.INT_TYPES["int"]

    def record(self, spec: ast.RecordSpec) -> ct.Record:
        attributes = tuple(a.name for a in spec.attributes)
        if spec.fields is None:
            found = self._lookup_tag(spec.kind, spec.tag or "")
            if isinstance(found, ct.Record):
                if found.kind != spec.kind:
                    self.diagnostics.error(f"use of '{spec.tag}' with tag type that does not match previous declaration",
                                           spec.loc)
                return found
            record = ct.Record(spec.kind, spec.tag, attributes=attributes)
            if spec.tag:
                self.scope.tags[spec.tag] = record
            return record
        existing = self.scope.tags.get(spec.tag) if spec.tag else None
        if isinstance(existing, ct.Record) and existing.fields is None and existing.kind == spec.kind:
            record = existing
            record.attributes = attributes
        else:
            if isinstance(existing, ct.Record) and existing.fields is not None:
                self.diagnostics.error(f"redefinition of '{spec.tag}'", spec.loc)
            record = ct.Record(spec.kind, spec.tag, attributes=attributes)
            if spec.tag:
                self.scope.tags[spec.tag] = record
        members = [self._member(f) for f in spec.fields]
        packed = "packed" in attributes
        aligned = max((self._aligned(a) for a in spec.attributes if a.name == "aligned"), default=0)
        self._check_members(spec, members)
        ct.lay_out(record, members, packed, aligned)
        return record

    def _member(self, decl: ast.FieldDecl) -> ct.MemberSpec:
        member_type = self.type_of(decl.specs, decl.declarator)
        bits = None
        if decl.bits is not None:
            bits = self.constant(decl.bits)
            width = 8 * ct.size_of(member_type)
            name = decl.declarator.name if decl.declarator else None
            if bits < 0:
                self.diagnostics.error(f"bit-field '{name}' has negative width ({bits})", decl.loc)
                bits = 0
            elif bits > width:
                self.diagnostics.error(
                    f"width of bit-field '{name}' ({bits} bits) exceeds the width of its type ({width} bits)",
                    decl.loc)
                bits = width
            elif bits == 0 and name:
                self.diagnostics.error(f"named bit-field '{name}' has zero width", decl.loc)
        attributes = (decl.declarator.attributes if decl.declarator else []) + decl.specs.attributes
        aligned = max((self._aligned(a) for a in attributes if a.name == "aligned"), default=0)
        packed = any(a.name == "packed" for a in attributes)
        return ct.MemberSpec(decl.declarator.name if decl.declarator else None, member_type, bits, packed, aligned)

    def _check_members(self, spec: ast.RecordSpec, members: list[ct.MemberSpec]) -> None:
        seen: set[str] = set()
        for index, member in enumerate(members):
            plain = ct.strip_typedefs(member.type)
            if member.name is not None:
                if member.name in seen:
                    self.diagnostics.error(f"duplicate member '{member.name}'", spec.loc)
                seen.add(member.name)
            if isinstance(plain, ct.Record) and not plain.complete:
                self.diagnostics.error(f"field has incomplete type '{plain}'", spec.loc)
            if isinstance(plain, ct.Array) and plain.length is None and (index != len(members) - 1
                                                                         or spec.kind == "union"):
                self.diagnostics.error("flexible array member must be the last member of a struct", spec.loc)

    def _aligned(self, attribute: ast.Attribute) -> int:
        if not attribute.args:
            return 8  # the target's largest alignment
        value = self.constant(attribute.args[0])
        if value <= 0 or value & (value - 1):
            self.diagnostics.error("requested alignment is not a power of 2", attribute.loc)
            return 0
        return value

    def enum(self, spec: ast.EnumSpec) -> ct.Enum:
        if spec.enumerators is None:
            found = self._lookup_tag("enum", spec.tag or "")
            if isinstance(found, ct.Enum):
                return found
            enum = ct.Enum(spec.tag)
            if spec.tag:
                self.scope.tags[spec.tag] = enum
            return enum
        existing = self.scope.tags.get(spec.tag) if spec.tag else None
        enum = existing if isinstance(existing, ct.Enum) and not existing.complete else ct.Enum(spec.tag)
        if spec.tag:
            self.scope.tags[spec.tag] = enum
        value = -1
        for enumerator in spec.enumerators:
            value = self.constant(enumerator.value) if enumerator.value is not None else value + 1
            enum.values[enumerator.name] = value
            self.scope.names[enumerator.name] = Ordinary(ct.INT_TYPES["int"], value=value, loc=enumerator.loc)
        values = list(enum.values.values()) or [0]
        low, high = min(values), max(values)
        enum.signed = low < 0
        enum.size = 4 if (low >= -(1 << 31) and high < (1 << 32) and (low >= 0 or high < (1 << 31))) else 8
        enum.complete = True
        return enum

    def function(self, definition: ast.FunctionDef) -> ct.CType:
        """A function definition's type, with its name declared (bodies are the next stage's)."""
        ctype = self.type_of(definition.specs, definition.declarator)
        if definition.declarator.name:
            self.scope.names[definition.declarator.name] = Ordinary(ctype, storage=tuple(definition.specs.storage),
                                                                    loc=definition.declarator.loc)
        return ctype

    def declaration(self, decl: ast.Declaration) -> list[tuple[str, ct.CType]]:
        """Resolve a declaration into the scope: typedefs, tags, enumerators and names with their types."""
        base = self.base_type(decl.specs)
        declared = []
        for init_declarator in decl.declarators:
            declarator = init_declarator.declarator
            ctype = self.derive(base, declarator.layers)
            if declarator.name is None:
                continue
            if "typedef" in decl.specs.storage:
                self.scope.names[declarator.name] = Ordinary(ct.Typedef(declarator.name, ctype), typedef=True,
                                                             loc=declarator.loc)
            else:
                self.scope.names[declarator.name] = Ordinary(ctype, storage=tuple(decl.specs.storage),
                                                             loc=declarator.loc)
            declared.append((declarator.name, ctype))
        return declared


def _keyword_type(spelling: str) -> ct.CType:
    if spelling == "void":
        return ct.Void()
    if spelling in ("float", "double", "long double"):
        return ct.Float(spelling, 4 if spelling == "float" else 8)
    if spelling == "__builtin_va_list":
        return ct.Pointer(ct.INT_TYPES["char"])
    return ct.INT_TYPES[spelling]
