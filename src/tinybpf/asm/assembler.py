"""An assembler for llvm-objdump's BPF syntax: reads what :mod:`tinybpf.asm.text` prints.

One instruction per line. Labels (``name:``), comments (``;``, ``#``, ``//``), llvm-objdump's
``<LBB0_2>`` annotations and instruction-index prefixes (``12:``) are accepted, so a pasted
``llvm-objdump -d --no-show-raw-insn`` listing assembles back to the same bytes. Beyond the
listing syntax: ``goto name`` / ``if r1 > 2 goto name`` jump to a label, ``call name`` calls a
helper by name (``map_lookup_elem``) or else the local function ``name``, and ``r1 = name ll`` /
``ld_pseudo r1, 1, name`` load a map or global that the loader fills in.
"""
from __future__ import annotations

import re
from typing import Callable, Optional

from tinybpf.asm.helpers import Helper
from tinybpf.asm.instruction import Instruction, Instructions, _resolve
from tinybpf.asm.opcodes import (
    LD_IMM64,
    MAY_GOTO,
    ALUOp,
    AtomicOp,
    Class,
    JumpOp,
    Mode,
    PseudoCall,
    Size,
    Source,
)
from tinybpf.asm.text import (
    ADDR_SPACE_CAST,
    ALU_SYMBOLS,
    ATOMIC_NAMES,
    ATOMIC_SYMBOLS,
    JUMP_SYMBOLS,
    SIGNED_ALU_SYMBOLS,
    SIZE_BITS,
)
from tinybpf.errors import CompileError

_NUMBER = r"[-+]?\s*(?:0[xX][0-9a-fA-F]+|\d+)"
_NAME = r"[A-Za-z_.$][\w.$]*"


def _alternatives(symbols: list[str]) -> str:
    """A regex alternation that tries longer spellings first (``s>=`` before ``s>``)."""
    return "|".join(re.escape(s) for s in sorted(symbols, key=len, reverse=True))


_KINDS = {
    "reg": r"[rw]\d+",
    "num": _NUMBER,
    "off": r"[-+]\s*(?:0[xX][0-9a-fA-F]+|\d+)",
    "target": rf"[-+]?\d+|{_NAME}",
    "name": _NAME,
    "size": r"[us](?:8|16|32|64)",
    "swap": r"(?:be|le|bswap)(?:16|32|64)",
    "aluop": _alternatives([*ALU_SYMBOLS.values(), *SIGNED_ALU_SYMBOLS.values()]),
    "jmpop": _alternatives(list(JUMP_SYMBOLS.values())),
    "lockop": _alternatives(list(ATOMIC_SYMBOLS.values())),
}
_TOKEN = re.compile(r"\{(\w+):(\w+)\}|\w+|\s+|.")


def _compile(template: str) -> re.Pattern[str]:
    """Turn ``"{dst:reg} = *({size:size} *)"`` into a regex with named groups and free spacing.

    A space in the template between two words requires whitespace; anywhere else whitespace is optional.
    """
    parts: list[str] = []
    tokens = list(_TOKEN.finditer(template))
    for i, token in enumerate(tokens):
        text = token.group(0)
        if text.isspace():
            before, after = tokens[i - 1].group(0), tokens[i + 1].group(0)
            wordy = (before[-1].isalnum() or before[-1] in "_}") and (after[0].isalnum() or after[0] in "_{")
            parts.append(r"\s+" if wordy else r"\s*")
        elif token.group(1):
            parts.append(rf"(?P<{token.group(1)}>{_KINDS[token.group(2)]})")
        else:
            after_token = i > 0 and not tokens[i - 1].group(0).isspace()
            punctuation = not (text[0].isalnum() or text[0] == "_")
            parts.append((r"\s*" if after_token and punctuation else "") + re.escape(text))
    return re.compile("".join(parts))


class _Statement:
    """One matched instruction line: typed access to its fields, errors pointing at them."""

    def __init__(self, match: re.Match[str], line: int, column: int, source: str, file: str) -> None:
        self.match, self.line, self.column, self.source, self.file = match, line, column, source, file
        self.target: Optional[str] = None
        self.target_column = column

    def error(self, message: str, group: Optional[str] = None, hint: str = "") -> CompileError:
        start, end = (self.match.span(group) if group else (0, len(self.match.group(0))))
        return CompileError(
            message,
            file=self.file,
            line=self.line,
            column=self.column + start,
            end_column=self.column + max(start, end - 1),
            source_line=self.source,
            hint=hint,
        )

    def text(self, group: str) -> str:
        return self.match.group(group)

    def reg(self, group: str) -> int:
        number = int(self.text(group)[1:])
        if number > 10:
            raise self.error(f"no register {self.text(group)}", group, "registers are r0-r10 (w0-w10)")
        return number

    def wide(self, *groups: str) -> bool:
        """Whether registers are rN (64-bit) rather than wN; all of ``groups`` must agree."""
        kinds = {self.text(group)[0] for group in groups}
        if len(kinds) > 1:
            raise self.error("mixed 32-bit (w) and 64-bit (r) registers", groups[-1])
        return kinds == {"r"}

    def num(self, group: str, low: int, high: int) -> int:
        text = re.sub(r"\s+", "", self.text(group))
        value = int(text, 16) if "0x" in text.lower() else int(text, 10)
        if not low <= value <= high:
            raise self.error(f"{value} is out of range [{low}, {high}]", group)
        return value

    def size(self, group: str = "size", signed: bool = False) -> Size:
        text = self.text(group)
        if (text[0] == "s") != signed:
            raise self.error(f"{text} is not allowed here", group, "use u8/u16/u32/u64" if not signed else "")
        return {8: Size.B, 16: Size.H, 32: Size.W, 64: Size.DW}[int(text[1:])]

    def off(self) -> int:
        return self.num("off", -0x8000, 0x7FFF)

    def jump_target(self) -> int:
        """The numeric offset, or 0 with ``self.target`` set to the label to resolve later."""
        text = self.text("target")
        if re.fullmatch(r"[-+]?\d+", text):
            return int(text)
        self.target, self.target_column = text, self.column + self.match.start("target")
        return 0


_I32 = (-(1 << 31), (1 << 32) - 1)
_Handler = Callable[[_Statement], Instruction]


def _exit(s: _Statement) -> Instruction:
    return Instruction(Class.JMP | JumpOp.EXIT)


def _goto(s: _Statement) -> Instruction:
    off = s.jump_target()
    if not -0x8000 <= off <= 0x7FFF:
        raise s.error(f"jump offset {off} does not fit in 16 bits", "target", "use gotol")
    return Instruction(Class.JMP | JumpOp.JA, off=off)


def _gotol(s: _Statement) -> Instruction:
    return Instruction(Class.JMP32 | JumpOp.JA, imm=s.jump_target())


def _may_goto(s: _Statement) -> Instruction:
    return Instruction(Class.JMP | JumpOp.JCOND, src=MAY_GOTO, off=s.jump_target())


def _call(s: _Statement) -> Instruction:
    text, call = s.text("target"), Class.JMP | JumpOp.CALL
    if text[0] in "+-":
        return Instruction(call, src=PseudoCall.CALL, imm=s.num("target", *_I32))
    if text.isdigit():
        return Instruction(call, imm=s.num("target", 0, _I32[1]))
    name = text[4:] if text.startswith("bpf_") else text
    if name in Helper.__members__:
        return Instruction(call, imm=Helper[name])
    s.target, s.target_column = text, s.column + s.match.start("target")
    return Instruction(call, src=PseudoCall.CALL, imm=-1)


def _call_kfunc(s: _Statement) -> Instruction:
    off = s.num("off", -0x8000, 0x7FFF) if s.match.groupdict().get("off") else 0
    return Instruction(Class.JMP | JumpOp.CALL, src=PseudoCall.KFUNC_CALL, off=off, imm=s.num("imm", 0, _I32[1]))


def _jump_opcode(s: _Statement, wide: bool, source: Source) -> int:
    op = next(op for op, symbol in JUMP_SYMBOLS.items() if symbol == s.text("op"))
    return (Class.JMP if wide else Class.JMP32) | op | source


def _jump_reg(s: _Statement) -> Instruction:
    opcode = _jump_opcode(s, s.wide("dst", "src"), Source.X)
    return Instruction(opcode, s.reg("dst"), s.reg("src"), _checked_off(s))


def _jump_imm(s: _Statement) -> Instruction:
    opcode = _jump_opcode(s, s.wide("dst"), Source.K)
    return Instruction(opcode, s.reg("dst"), off=_checked_off(s), imm=s.num("imm", *_I32))


def _checked_off(s: _Statement) -> int:
    off = s.jump_target()
    if not -0x8000 <= off <= 0x7FFF:
        raise s.error(f"jump offset {off} does not fit in 16 bits", "target")
    return off


def _atomic(s: _Statement, op: int, sizes: tuple[Size, ...] = (Size.W, Size.DW)) -> Instruction:
    size = s.size()
    if size not in sizes:
        raise s.error(f"no {s.text('size')} form of this atomic operation", "size")
    return Instruction(Class.STX | Mode.ATOMIC | size, s.reg("base"), s.reg("src"), s.off(), op)


def _lock(s: _Statement) -> Instruction:
    op = next(op for op, symbol in ATOMIC_SYMBOLS.items() if symbol == s.text("op"))
    return _atomic(s, op)


def _fetch(s: _Statement) -> Instruction:
    op = next((op for op, name in ATOMIC_NAMES.items() if name == s.text("op")), None)
    if op is None:
        raise s.error(f"no atomic_fetch_{s.text('op')}", "op", "use add, or, and or xor")
    _same_register(s, "dst", "src")
    return _atomic(s, op | 0x01)


def _same_register(s: _Statement, first: str, second: str) -> None:
    if s.reg(first) != s.reg(second):
        raise s.error(f"{s.text(first)} and {s.text(second)} must be the same register", second)


def _exchange_size(s: _Statement, names: dict[str, Size]) -> None:
    if s.text("fn") not in names:
        raise s.error(f"unknown operation {s.text('fn')}", "fn", f"use {' or '.join(names)}")


def _xchg(s: _Statement) -> Instruction:
    sizes = {"xchg_64": Size.DW, "xchg32_32": Size.W}
    _exchange_size(s, sizes)
    _same_register(s, "dst", "src")
    return Instruction(Class.STX | Mode.ATOMIC | sizes[s.text("fn")], s.reg("base"), s.reg("src"), s.off(), AtomicOp.XCHG)


def _cmpxchg(s: _Statement) -> Instruction:
    sizes = {"cmpxchg_64": Size.DW, "cmpxchg32_32": Size.W}
    _exchange_size(s, sizes)
    for group in ("dst", "old"):
        if s.reg(group) != 0:
            raise s.error("cmpxchg compares and returns in r0", group)
    opcode = Class.STX | Mode.ATOMIC | sizes[s.text("fn")]
    return Instruction(opcode, s.reg("base"), s.reg("src"), s.off(), AtomicOp.CMPXCHG)


def _load_acquire(s: _Statement) -> Instruction:
    opcode = Class.STX | Mode.ATOMIC | s.size()
    return Instruction(opcode, s.reg("dst"), s.reg("base"), s.off(), AtomicOp.LOAD_ACQ)


def _store_release(s: _Statement) -> Instruction:
    return _atomic(s, AtomicOp.STORE_REL, tuple(Size))


def _legacy_size(s: _Statement) -> Size:
    size = s.size()
    if size == Size.DW or s.reg("dst") != 0:
        raise s.error("legacy packet loads are r0 = *(u8|u16|u32 *)skb[...]", "size")
    return size


def _ld_abs(s: _Statement) -> Instruction:
    return Instruction(Class.LD | Mode.ABS | _legacy_size(s), imm=s.num("imm", *_I32))


def _ld_ind(s: _Statement) -> Instruction:
    imm = s.num("off", *_I32) if s.match.groupdict().get("off") else 0
    return Instruction(Class.LD | Mode.IND | _legacy_size(s), src=s.reg("src"), imm=imm)


def _ldx(s: _Statement) -> Instruction:
    signed = s.text("size")[0] == "s"
    size = s.size(signed=signed)
    if signed and size == Size.DW:
        raise s.error("no sign-extending 64-bit load", "size", "use u64")
    mode = Mode.MEMSX if signed else Mode.MEM
    return Instruction(Class.LDX | mode | size, s.reg("dst"), s.reg("base"), s.off())


def _stx(s: _Statement) -> Instruction:
    return Instruction(Class.STX | Mode.MEM | s.size(), s.reg("base"), s.reg("src"), s.off())


def _st(s: _Statement) -> Instruction:
    return Instruction(Class.ST | Mode.MEM | s.size(), s.reg("base"), off=s.off(), imm=s.num("imm", *_I32))


def _wide_register(s: _Statement, group: str) -> int:
    if not s.wide(group):
        raise s.error("64-bit loads need an rN register", group)
    return s.reg(group)


def _ld_imm64(s: _Statement) -> Instruction:
    value = s.num("imm", -(1 << 63), (1 << 64) - 1)
    return Instruction(LD_IMM64, _wide_register(s, "dst"), imm=value)


def _ld_imm64_symbol(s: _Statement) -> Instruction:
    return Instruction(LD_IMM64, _wide_register(s, "dst"), reference=s.text("name"))


def _ld_pseudo(s: _Statement) -> Instruction:
    dst, src = _wide_register(s, "dst"), s.num("src", 1, 15)
    if s.match.groupdict().get("name"):
        return Instruction(LD_IMM64, dst, src, reference=s.text("name"))
    return Instruction(LD_IMM64, dst, src, imm=s.num("imm", -(1 << 63), (1 << 64) - 1))


def _alu_class(s: _Statement, *groups: str) -> int:
    return Class.ALU64 if s.wide(*groups) else Class.ALU


def _movsx(s: _Statement) -> Instruction:
    cls, bits = _alu_class(s, "dst", "src"), SIZE_BITS[s.size(signed=True)]
    if bits == 64 or (bits == 32 and cls == Class.ALU):
        raise s.error(f"no (s{bits}) move for {s.text('dst')}", "size")
    return Instruction(cls | ALUOp.MOV | Source.X, s.reg("dst"), s.reg("src"), bits)


def _addr_space_cast(s: _Statement) -> Instruction:
    imm = s.num("dst_as", 0, 0xFFFF) << 16 | s.num("src_as", 0, 0xFFFF)
    opcode = Class.ALU64 | ALUOp.MOV | Source.X
    return Instruction(opcode, _wide_register(s, "dst"), _wide_register(s, "src"), ADDR_SPACE_CAST, imm)


def _neg(s: _Statement) -> Instruction:
    _same_register(s, "dst", "src")
    return Instruction(_alu_class(s, "dst", "src") | ALUOp.NEG, s.reg("dst"))


def _swap(s: _Statement) -> Instruction:
    _same_register(s, "dst", "src")
    kind, bits = re.fullmatch(r"([a-z]+)(\d+)", s.text("swap")).groups()  # type: ignore[union-attr]
    opcode = {"le": Class.ALU | Source.TO_LE, "be": Class.ALU | Source.TO_BE, "bswap": Class.ALU64}[kind]
    return Instruction(opcode | ALUOp.END, s.reg("dst"), imm=int(bits))


def _mov(s: _Statement) -> Instruction:
    return Instruction(_alu_class(s, "dst", "src") | ALUOp.MOV | Source.X, s.reg("dst"), s.reg("src"))


def _mov_imm(s: _Statement) -> Instruction:
    return Instruction(_alu_class(s, "dst") | ALUOp.MOV, s.reg("dst"), imm=s.num("imm", *_I32))


def _alu_op(s: _Statement) -> tuple[int, int]:
    """(op, off): the signed division and modulo are DIV and MOD with off 1."""
    symbol = s.text("op")
    signed = next((op for op, text in SIGNED_ALU_SYMBOLS.items() if text == symbol), None)
    if signed is not None:
        return signed, 1
    return next(op for op, text in ALU_SYMBOLS.items() if text == symbol), 0


def _alu(s: _Statement) -> Instruction:
    op, off = _alu_op(s)
    return Instruction(_alu_class(s, "dst", "src") | op | Source.X, s.reg("dst"), s.reg("src"), off)


def _alu_imm(s: _Statement) -> Instruction:
    op, off = _alu_op(s)
    return Instruction(_alu_class(s, "dst") | op, s.reg("dst"), off=off, imm=s.num("imm", *_I32))


def _raw(s: _Statement) -> Instruction:
    code = s.num("code", 0, 0xFF)
    imm_range = (-(1 << 63), (1 << 64) - 1) if code == LD_IMM64 else _I32
    return Instruction(
        code, s.num("dst", 0, 15), s.num("src", 0, 15), s.num("off", -0x8000, 0xFFFF), s.num("imm", *imm_range)
    )


_MEM = "( {base:reg} {off:off} )"
_FORMS: list[tuple[re.Pattern[str], _Handler]] = [
    (_compile(template), handler)
    for template, handler in (
        ("exit", _exit),
        ("goto {target:target}", _goto),
        ("gotol {target:target}", _gotol),
        ("may_goto {target:target}", _may_goto),
        ("call kfunc {imm:num}", _call_kfunc),
        ("call kfunc {imm:num} , {off:num}", _call_kfunc),
        ("call {target:target}", _call),
        ("if {dst:reg} {op:jmpop} {src:reg} goto {target:target}", _jump_reg),
        ("if {dst:reg} {op:jmpop} {imm:num} goto {target:target}", _jump_imm),
        (f"lock *( {{size:size}} * ) {_MEM} {{op:lockop}} {{src:reg}}", _lock),
        (f"{{dst:reg}} = atomic_fetch_{{op:name}} ( ( {{size:size}} * ) {_MEM} , {{src:reg}} )", _fetch),
        ("{dst:reg} = {fn:name} ( {base:reg} {off:off} , {src:reg} )", _xchg),
        ("{dst:reg} = {fn:name} ( {base:reg} {off:off} , {old:reg} , {src:reg} )", _cmpxchg),
        (f"{{dst:reg}} = load_acquire ( ( {{size:size}} * ) {_MEM} )", _load_acquire),
        (f"store_release ( ( {{size:size}} * ) {_MEM} , {{src:reg}} )", _store_release),
        ("{dst:reg} = * ( {size:size} * ) skb [ {imm:num} ]", _ld_abs),
        ("{dst:reg} = * ( {size:size} * ) skb [ {src:reg} ]", _ld_ind),
        ("{dst:reg} = * ( {size:size} * ) skb [ {src:reg} {off:off} ]", _ld_ind),
        (f"{{dst:reg}} = * ( {{size:size}} * ) {_MEM}", _ldx),
        (f"* ( {{size:size}} * ) {_MEM} = {{src:reg}}", _stx),
        (f"* ( {{size:size}} * ) {_MEM} = {{imm:num}}", _st),
        ("{dst:reg} = {imm:num} ll", _ld_imm64),
        ("{dst:reg} = {name:name} ll", _ld_imm64_symbol),
        ("ld_pseudo {dst:reg} , {src:num} , {imm:num}", _ld_pseudo),
        ("ld_pseudo {dst:reg} , {src:num} , {name:name}", _ld_pseudo),
        ("{dst:reg} = ( {size:size} ) {src:reg}", _movsx),
        ("{dst:reg} = addr_space_cast ( {src:reg} , {dst_as:num} , {src_as:num} )", _addr_space_cast),
        ("{dst:reg} = - {src:reg}", _neg),
        ("{dst:reg} = {swap:swap} {src:reg}", _swap),
        ("{dst:reg} = {src:reg}", _mov),
        ("{dst:reg} = {imm:num}", _mov_imm),
        ("{dst:reg} {op:aluop} {src:reg}", _alu),
        ("{dst:reg} {op:aluop} {imm:num}", _alu_imm),
        (".insn code = {code:num} dst = {dst:num} src = {src:num} off = {off:num} imm = {imm:num}", _raw),
    )
]

_COMMENT = re.compile(r"//|[;#]")
_ANNOTATION = re.compile(r"\s<[^<>\s]*>\s*$")
_PREFIX = re.compile(rf"\s*(?:(?P<index>\d+):|[0-9a-fA-F]+\s+<(?P<function>{_NAME})>:|(?P<label>{_NAME}):)")


def assemble(source: str, file: str = "<asm>") -> Instructions:
    """Assemble llvm-objdump-style text; errors are CompileError with line and column."""
    program: list[Instruction] = []
    statements: list[_Statement] = []
    defined: set[str] = set()
    pending: Optional[tuple[str, int, int]] = None  # a label waiting for its instruction: name, line, column
    lines = source.splitlines()
    for number, line in enumerate(lines, 1):
        code = _code_of(line)
        labels, start = _labels_of(code)
        for name, column in labels:
            if name in defined:
                raise CompileError(f"label {name!r} is defined twice", file, number, column, source_line=line)
            if pending is not None:
                message = f"labels {pending[0]!r} and {name!r} mark the same instruction"
                raise CompileError(message, file, number, column, source_line=line)
            defined.add(name)
            pending = (name, number, column)
        text = code[start:].strip()
        if not text:
            continue
        statement, insn = _parse(text, number, code.index(text, start) + 1, line, file)
        if pending is not None:
            insn, pending = insn.with_symbol(pending[0]), None
        if statement.target is not None:
            insn = insn.with_reference(statement.target)
        program.append(insn)
        statements.append(statement)
    if pending is not None:
        name, number, column = pending
        message = f"label {name!r} is not followed by an instruction"
        raise CompileError(message, file, number, column, source_line=lines[number - 1])

    def fail(index: int, message: str) -> None:
        s = statements[index]
        raise CompileError(message, s.file, s.line, s.target_column, source_line=s.source)

    return _resolve(program, fail)


def _code_of(line: str) -> str:
    """The line without its comment and llvm-objdump's trailing ``<symbol>`` annotation."""
    comment = _COMMENT.search(line)
    code = line[: comment.start()] if comment else line
    annotation = _ANNOTATION.search(code)
    return code[: annotation.start()] if annotation else code


def _labels_of(code: str) -> tuple[list[tuple[str, int]], int]:
    """Labels (name, column) at the start of the line, and where its instruction starts.

    Instruction-index prefixes (``12:``) are skipped; llvm-objdump's ``0000 <name>:`` is a label.
    """
    labels: list[tuple[str, int]] = []
    position = 0
    while True:
        prefix = _PREFIX.match(code, position)
        if prefix is None:
            return labels, position
        group = "label" if prefix.group("label") else "function" if prefix.group("function") else None
        if group is not None:
            labels.append((prefix.group(group), prefix.start(group) + 1))
        position = prefix.end()


def _parse(text: str, line: int, column: int, source: str, file: str) -> tuple[_Statement, Instruction]:
    for pattern, handler in _FORMS:
        match = pattern.fullmatch(text)
        if match is None:
            continue
        statement = _Statement(match, line, column, source, file)
        try:
            return statement, handler(statement)
        except ValueError as exc:
            raise statement.error(str(exc)) from None
    raise CompileError(
        f"cannot parse {text!r}", file, line, column, column + len(text) - 1, source,
        hint="expected llvm-objdump BPF syntax, e.g. 'r1 = *(u32 *)(r2 + 4)'",
    )
