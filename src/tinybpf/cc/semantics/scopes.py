"""C's name spaces: tags (struct/union/enum) and ordinary identifiers, scope by scope; and the face of the
resolver that expressions and constant folding look names and types up through."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Protocol, Union

from tinybpf.cc.diagnostics import Loc
from tinybpf.cc.semantics import ctypes as ct
from tinybpf.cc.syntax import ast


@dataclass
class Ordinary:
    """An ordinary identifier: a typedef (``type`` set, ``typedef``), an enum constant (``value``), or an
    object/function (``type``)."""

    type: Optional[ct.CType] = None
    typedef: bool = False
    value: Optional[int] = None
    storage: tuple[str, ...] = ()
    loc: Optional[Loc] = None


@dataclass
class Scope:
    parent: Optional[Scope] = None
    tags: dict[str, Union[ct.Record, ct.Enum]] = field(default_factory=dict)
    names: dict[str, Ordinary] = field(default_factory=dict)

    def tag(self, name: str) -> Optional[Union[ct.Record, ct.Enum]]:
        scope: Optional[Scope] = self
        while scope is not None:
            if name in scope.tags:
                return scope.tags[name]
            scope = scope.parent
        return None

    def name(self, name: str) -> Optional[Ordinary]:
        scope: Optional[Scope] = self
        while scope is not None:
            if name in scope.names:
                return scope.names[name]
            scope = scope.parent
        return None




class Names(Protocol):
    """What typing an expression needs from the declarations around it."""

    def lookup_name(self, name: str) -> Optional[Ordinary]: ...

    def type_name(self, type_name: ast.TypeName) -> ct.CType: ...
