"""The C syntax tree: what the parser hands the type checker.

Plain dataclasses with the position of their first token. Types are kept as written (specifiers plus a
declarator's derivations); the type checker turns them into C types. GNU forms have nodes of their own
(statement expressions, ``typeof``, ``__builtin_offsetof``, ``asm``), and attributes stay on the node
they were written on.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

from tinybpf.cc.diagnostics import Loc


@dataclass
class Attribute:
    """``__attribute__((name(args)))``; ``args`` are expressions (strings, numbers, identifiers)."""

    name: str
    args: list[Expr]
    loc: Loc


# ----- types as written


@dataclass
class RecordSpec:
    """``struct``/``union`` with an optional tag and, when defined here, its fields."""

    kind: str  # "struct" or "union"
    tag: Optional[str]
    fields: Optional[list[FieldDecl]]
    attributes: list[Attribute]
    loc: Loc


@dataclass
class FieldDecl:
    specs: DeclSpecs
    declarator: Optional[Declarator]  # None: an anonymous struct/union member
    bits: Optional[Expr]
    loc: Loc


@dataclass
class Enumerator:
    name: str
    value: Optional[Expr]
    loc: Loc


@dataclass
class EnumSpec:
    tag: Optional[str]
    enumerators: Optional[list[Enumerator]]
    attributes: list[Attribute]
    loc: Loc


@dataclass
class TypeofSpec:
    """``typeof(expr)`` or ``typeof(type)``."""

    expr: Optional[Expr]
    type: Optional[TypeName]
    loc: Loc


TypeSpecifier = Union[str, RecordSpec, EnumSpec, TypeofSpec]  # str: a keyword or a typedef name


@dataclass
class DeclSpecs:
    storage: list[str] = field(default_factory=list)  # typedef, extern, static, auto, register, _Thread_local
    qualifiers: list[str] = field(default_factory=list)  # const, volatile, restrict, _Atomic
    specifiers: list[TypeSpecifier] = field(default_factory=list)
    function: list[str] = field(default_factory=list)  # inline, _Noreturn
    attributes: list[Attribute] = field(default_factory=list)
    alignas: list[Union[Expr, TypeName]] = field(default_factory=list)
    typedef_name: Optional[str] = None
    loc: Optional[Loc] = None


@dataclass
class PointerLayer:
    qualifiers: list[str]
    attributes: list[Attribute]


@dataclass
class ArrayLayer:
    size: Optional[Expr]
    loc: Loc


@dataclass
class ParamDecl:
    specs: DeclSpecs
    declarator: Declarator
    loc: Loc


@dataclass
class FunctionLayer:
    params: list[ParamDecl]
    variadic: bool
    prototype: bool  # False for K&R-style ``f()``
    loc: Loc


Layer = Union[PointerLayer, ArrayLayer, FunctionLayer]


@dataclass
class Declarator:
    """A name and how its type derives from the specifiers, outermost layer first (``*a[3]``: an array
    of 3 pointers is ``[ArrayLayer, PointerLayer]``)."""

    name: Optional[str]
    layers: list[Layer]
    attributes: list[Attribute]
    loc: Loc
    asm_label: Optional[str] = None


@dataclass
class TypeName:
    specs: DeclSpecs
    declarator: Declarator
    loc: Loc


# ----- expressions


@dataclass
class Ident:
    name: str
    loc: Loc


@dataclass
class IntLit:
    value: int
    suffix: str  # lower case: "", "u", "l", "ul", "ll", "ull"
    base: int
    text: str
    loc: Loc


@dataclass
class FloatLit:
    text: str
    loc: Loc


@dataclass
class CharLit:
    value: int
    prefix: str
    loc: Loc


@dataclass
class StringLit:
    value: bytes  # without the terminating NUL
    prefix: str
    loc: Loc


@dataclass
class Unary:
    op: str  # - + ! ~ * & ++ -- (prefix) sizeof alignof __real__ __imag__ __extension__
    operand: Expr
    loc: Loc


@dataclass
class Postfix:
    op: str  # ++ --
    operand: Expr
    loc: Loc


@dataclass
class Binary:
    op: str
    left: Expr
    right: Expr
    loc: Loc


@dataclass
class Assign:
    op: str  # = += -= ...
    target: Expr
    value: Expr
    loc: Loc


@dataclass
class Conditional:
    condition: Expr
    then: Optional[Expr]  # None: GNU ``a ?: b``
    otherwise: Expr
    loc: Loc


@dataclass
class Cast:
    type: TypeName
    operand: Expr
    loc: Loc


@dataclass
class SizeofType:
    op: str  # sizeof or _Alignof
    type: TypeName
    loc: Loc


@dataclass
class Call:
    function: Expr
    args: list[Expr]
    loc: Loc


@dataclass
class Index:
    base: Expr
    index: Expr
    loc: Loc


@dataclass
class Member:
    base: Expr
    name: str
    arrow: bool
    loc: Loc


@dataclass
class CompoundLiteral:
    type: TypeName
    init: InitList
    loc: Loc


@dataclass
class StmtExpr:
    """GNU ``({ ...; value; })``."""

    body: Compound
    loc: Loc


@dataclass
class Comma:
    left: Expr
    right: Expr
    loc: Loc


@dataclass
class Offsetof:
    """``__builtin_offsetof(type, a.b[2].c)``: the path as member names and index expressions."""

    type: TypeName
    path: list[Union[str, Expr]]
    loc: Loc


@dataclass
class TypeArgBuiltin:
    """A builtin that takes types: ``__builtin_types_compatible_p(T1, T2)``, ``__builtin_va_arg(ap, T)``,
    and the BTF builtins whose argument may be a type (``__builtin_preserve_type_info(*(T *)0, kind)``
    takes an expression; ``__builtin_btf_type_id`` too)."""

    name: str
    args: list[Union[Expr, TypeName]]
    loc: Loc


@dataclass
class Generic:
    control: Expr
    associations: list[tuple[Optional[TypeName], Expr]]
    loc: Loc


@dataclass
class LabelAddress:
    """GNU ``&&label``."""

    label: str
    loc: Loc


Expr = Union[
    Ident, IntLit, FloatLit, CharLit, StringLit, Unary, Postfix, Binary, Assign, Conditional, Cast, SizeofType,
    Call, Index, Member, CompoundLiteral, StmtExpr, Comma, Offsetof, TypeArgBuiltin, Generic, LabelAddress,
]


@dataclass
class Designator:
    field: Optional[str] = None
    index: Optional[Expr] = None
    last: Optional[Expr] = None  # GNU range ``[lo ... hi]``


@dataclass
class InitList:
    items: list[tuple[list[Designator], Initializer]]
    loc: Loc


Initializer = Union[Expr, InitList]


# ----- statements and declarations


@dataclass
class InitDeclarator:
    declarator: Declarator
    init: Optional[Initializer]


@dataclass
class Declaration:
    specs: DeclSpecs
    declarators: list[InitDeclarator]
    loc: Loc


@dataclass
class StaticAssert:
    condition: Expr
    message: Optional[StringLit]
    loc: Loc


@dataclass
class Compound:
    items: list[Union[Stmt, Declaration, StaticAssert]]
    loc: Loc
    end: Optional[Loc] = None


@dataclass
class ExprStmt:
    expr: Optional[Expr]  # None: the null statement
    loc: Loc
    attributes: list[Attribute] = field(default_factory=list)


@dataclass
class If:
    condition: Expr
    then: Stmt
    otherwise: Optional[Stmt]
    loc: Loc


@dataclass
class Loop:
    """``while``, ``do``/``while`` and ``for``; ``pragmas`` holds ``unroll``/``clang loop`` lines before it."""

    kind: str  # "while", "do", "for"
    init: Optional[Union[Expr, Declaration]]
    condition: Optional[Expr]
    step: Optional[Expr]
    body: Stmt
    loc: Loc
    pragmas: list[str] = field(default_factory=list)


@dataclass
class Switch:
    value: Expr
    body: Stmt
    loc: Loc


@dataclass
class Case:
    value: Optional[Expr]  # None: default
    last: Optional[Expr]  # GNU ``case 1 ... 3:``
    body: Stmt
    loc: Loc


@dataclass
class Jump:
    kind: str  # break, continue, return, goto
    value: Optional[Expr]
    label: Optional[str]
    loc: Loc


@dataclass
class Labeled:
    label: str
    body: Stmt
    loc: Loc


@dataclass
class AsmOperand:
    name: Optional[str]
    constraint: str
    expr: Expr


@dataclass
class Asm:
    """GNU ``asm [volatile] [goto] ("template" : outputs : inputs : clobbers : labels)``."""

    template: str
    outputs: list[AsmOperand]
    inputs: list[AsmOperand]
    clobbers: list[str]
    labels: list[str]
    qualifiers: list[str]
    loc: Loc


Stmt = Union[Compound, ExprStmt, If, Loop, Switch, Case, Jump, Labeled, Asm, Declaration, StaticAssert]


@dataclass
class FunctionDef:
    specs: DeclSpecs
    declarator: Declarator
    body: Compound
    loc: Loc


@dataclass
class TranslationUnit:
    items: list[Union[FunctionDef, Declaration, StaticAssert, Asm]]
    pragmas: list[tuple[str, Loc]]  # top-level pragmas in order (``clang attribute push/pop``)
