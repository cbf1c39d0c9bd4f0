"""Parse bpftrace scripts into the AST: ``parse(source) -> ast.Program``.

A hand-written recursive-descent parser for bpftrace's grammar (``src/parser.yy`` in bpftrace 0.17, plus the
later ``config = {}`` block, ``for`` loops, ``return value``, ``sizeof``/``offsetof`` and an optional ``;``
after a probe). Binary operators use precedence climbing with C's precedence and left associativity.

Errors read like bpftrace's bison parser (``syntax error, unexpected X, expecting Y``): where bison names
the tokens it expected the same names are given, and nodes carry the locations bpftrace gives them, so
later passes report at the same columns. Nesting is bounded (``MAX_NESTING``) so that a hostile script
gets a ``TraceError`` rather than a ``RecursionError``; left-associative chains (``1 + 1 + ...``, ``a || b
|| ...``, ``$p->a->b...``, ``else if`` ladders) are not nesting and have their own, larger bound
(``MAX_CHAIN``), which the later passes' recursion over the AST can take (see ``compiler.deep_recursion``).

Attach points are reassembled from tokens into text (as bpftrace does) and split by their provider's rules
(bpftrace's ``AttachPointParser``), without looking at the system: wildcards are left for expansion.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable, NoReturn, Optional, Union

from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.ast import Pos
from tinybpf.trace.syntax.diagnostics import Diagnostic, TraceError
from tinybpf.trace.syntax.lexer import DISPLAY_NAMES, Token, parse_int, tokenize

MAX_NESTING = 100
MAX_CHAIN = 1000
_START = Pos(1, 1, 1, 1, 1, 1)
_LONG_MAX = (1 << 63) - 1

# Binary operators by precedence level, lowest first; all are left associative.
_BINARY_LEVELS = (("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="), ("<<", ">>"),
                  ("+", "-"), ("*", "/", "%"))
_PRECEDENCE: dict[str, int] = {op: level for level, ops in enumerate(_BINARY_LEVELS) for op in ops}
_COMPOUND_ASSIGN = {"+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="}
_NAME_KINDS = ("IDENT", "BUILTIN", "CALL", "CALL_BUILTIN", "STACK_MODE")
_FIELD_KINDS = frozenset((*_NAME_KINDS, "if", "else", "unroll", "while", "for", "return", "continue", "break"))
_EXPR_START = frozenset(
    (*_NAME_KINDS, "INT", "STRING", "MAP", "VAR", "PARAM", "PARAMCOUNT", "(", "-", "!", "~", "*", "&", "++", "--",
     "{", "if")
)
_ATTACH_POINT_KINDS = frozenset((*_NAME_KINDS, "STRING", "PATH", "INT", ":", ".", "+", "*", "[", "]", "PARAM", "PARAMCOUNT",
                                 "MAP"))


def parse(source: str, filename: str = "stdin", params: Sequence[str] = ()) -> ast.Program:
    """Parse a whole script; ``params`` are the positional parameters, used inside attach points.

    Raises ``TraceError`` with bpftrace-style diagnostics when the script is malformed.
    """
    return Parser(source, filename, params).parse()


@dataclass
class _Imported:
    """What a script's imports add: macros (expanded like the library's), map declarations and probes."""

    macros: list[Any]
    map_decls: list[ast.MapDecl]
    probes: list[ast.Probe]


class Parser:
    """One parse of one script: a cursor over the token list plus the bookkeeping for diagnostics."""

    def __init__(self, source: str, filename: str = "stdin", params: Sequence[str] = ()) -> None:
        self.source = source
        self.filename = filename
        self.params = list(params)
        self.tokens, self.lex_errors = tokenize(source)
        self.k = 0
        self.depth = 0
        self.chained = 0
        self.deferred: list[Diagnostic] = []
        self.block_exprs = False

    # ----------------------------------------------------------------- cursor and errors

    @property
    def tok(self) -> Token:
        return self.tokens[self.k]

    def peek(self, offset: int = 1) -> Token:
        return self.tokens[min(self.k + offset, len(self.tokens) - 1)]

    @property
    def prev(self) -> Token:
        """The last consumed token (or the first token when none is)."""
        return self.tokens[max(self.k - 1, 0)]

    def advance(self) -> Token:
        token = self.tokens[self.k]
        if token.kind != "END":
            self.k += 1
        return token

    def accept(self, kind: str) -> Optional[Token]:
        return self.advance() if self.tok.kind == kind else None

    def expect(self, kind: str, expecting: Sequence[str] = ()) -> Token:
        """Consume a ``kind`` token or fail naming ``expecting`` (bison's list, defaulting to ``kind``)."""
        if self.tok.kind != kind:
            self.fail(self.tok, expecting or (kind,))
        return self.advance()

    def span(self, first: Token) -> Pos:
        """From ``first`` to the last consumed token: a nonterminal's location in bison."""
        return first.pos.to(self.prev.pos)

    def fail(self, token: Token, expecting: Sequence[str] = ()) -> NoReturn:
        message = f"syntax error, unexpected {_display(token.kind)}"
        if expecting:
            message += ", expecting " + " or ".join(_display(kind) for kind in expecting)
        self.error(message, token.pos)

    def error(self, message: str, pos: Pos) -> NoReturn:
        """Stop with ``message`` at ``pos``, after the lexical errors bpftrace would have printed first."""
        earlier = [d for d in self.lex_errors if (d.pos.line, d.pos.column) <= (pos.end_line, pos.end_column)]
        raise TraceError([*earlier, Diagnostic(message, pos)], self.source, self.filename)

    def nest(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            self.error(f"nesting too deep (more than {MAX_NESTING} levels)", token.pos)

    def chain(self, token: Token) -> None:
        """One more link of a left-associative chain: deepens the AST, not the parser's recursion."""
        self.chained += 1
        if self.chained > MAX_CHAIN:
            self.error(f"nesting too deep (more than {MAX_CHAIN} chained operators)", token.pos)

    # ----------------------------------------------------------------- program, probes

    def parse(self) -> ast.Program:
        first = self.tok
        c_definitions: list[ast.CDefinition] = []
        while self.tok.kind in ("CPREPROC", "STRUCT_DEFN"):
            token = self.advance()
            kind = "preprocessor" if token.kind == "CPREPROC" else "struct"
            c_definitions.append(ast.CDefinition(pos=token.pos, kind=kind, text=token.text))
        config = self.config() if self.tok.text == "config" and self.peek().kind == "=" else None
        imported = self.imports(set(), c_definitions)
        macros: list[Any] = []
        self.macro_names = {self.tokens[i + 1].text for i, t in enumerate(self.tokens[:-1])
                            if t.text == "macro" and t.kind == "IDENT" and self.tokens[i + 2].kind == "("}
        self.macro_names |= {m.name for m in imported.macros}
        library = self.library() + imported.macros
        map_decls: list[ast.MapDecl] = list(imported.map_decls)
        probes: list[ast.Probe] = list(imported.probes)
        self.items(macros, map_decls, probes, need_probe=True)
        program = ast.Program(pos=first.pos.to(self.tok.pos), c_definitions=c_definitions, config=config,
                              probes=probes, map_decls=map_decls)
        if macros or library or self.block_exprs:
            from tinybpf.trace.syntax.macros import expand

            expand(program, macros, self.source, self.filename, library)
        return program

    def items(self, macros: list[Any], map_decls: list[ast.MapDecl], probes: list[ast.Probe],
              need_probe: bool) -> None:
        """The probes, macros and map declarations up to the end (a script needs one probe at least)."""
        while self.tok.kind != "END" or (need_probe and not probes):  # macros may follow the probes using them
            if self.tok.kind == "IDENT" and self.tok.text == "let" and self.peek().kind == "MAP":
                map_decls.append(self.map_decl())
            elif self.tok.kind == "IDENT" and self.tok.text == "macro" and self.peek(2).kind == "(":
                macros.append(self.macro_definition())
            else:
                probes.append(self.probe())
        for errors in (self.lex_errors, self.deferred):
            if errors:
                raise TraceError(errors, self.source, self.filename)

    def imports(self, seen: set[str], c_definitions: list[ast.CDefinition]) -> _Imported:
        """``import "path";`` statements: the imported scripts' items (their own imports first) and the
        imported headers' C definitions, added to ``c_definitions`` (see ``imports``)."""
        from tinybpf.errors import TinyBPFError
        from tinybpf.trace.syntax import imports

        found = _Imported([], [], [])
        while self.tok.kind == "IDENT" and self.tok.text == "import" and self.peek().kind == "STRING":
            first = self.advance()
            name = self.advance()
            self.expect(";", (";",))
            try:
                path = name.value.decode(errors="replace") if isinstance(name.value, bytes) else name.text
                files = imports.resolve(path, self.filename, seen)
            except TinyBPFError as exc:
                self.error(str(exc), first.pos.to(name.pos))
            for module in files:
                if module.kind == "header":
                    c_definitions.append(ast.CDefinition(pos=first.pos, kind="preprocessor", text=module.text))
                    continue
                sub = Parser(module.text, module.filename, self.params)
                inner = sub.imports(seen, c_definitions)
                sub.macro_names = {m.name for m in inner.macros} | {
                    sub.tokens[i + 1].text for i, t in enumerate(sub.tokens[:-1])
                    if t.text == "macro" and t.kind == "IDENT" and sub.tokens[i + 2].kind == "("}
                found.macros.extend(inner.macros)
                found.map_decls.extend(inner.map_decls)
                found.probes.extend(inner.probes)
                sub.items(found.macros, found.map_decls, found.probes, need_probe=False)
        return found

    def library(self) -> list[Any]:
        """The standard library's macros, when the script names one (see ``stdlib``)."""
        from tinybpf.trace.syntax import stdlib

        if self.filename == stdlib.FILENAME or not stdlib.uses_library(self.tokens):
            return []
        self.macro_names |= stdlib.NAMES | stdlib.FOLDED
        return library_definitions()

    def macro_definition(self) -> ast.Node:
        """``macro name($var, @map, ident) { ... }`` (see ``macros``)."""
        from tinybpf.trace.syntax.macros import MacroDefinition

        first = self.advance()
        name = self.advance()
        self.expect("(")
        params: list[str] = []
        while self.tok.kind != ")":
            params.append(self.advance().text)
            if not self.accept(",") and self.tok.kind != ")":
                self.fail(self.tok, (")",))
        self.advance()
        body = self.block()
        self.accept(";")
        return MacroDefinition(pos=first.pos.to(name.pos), name=name.text, params=params, body=body)

    def map_decl(self) -> ast.MapDecl:
        """``let @name = kind(max_entries);``; the kind is checked against the map types later."""
        first = self.advance()
        name = self.advance()
        self.expect("=")
        kind = self.expect("IDENT")
        self.expect("(")
        size = self.expect("INT")
        self.expect(")")
        decl = ast.MapDecl(pos=self.span(first), name=name.text, kind=kind.text, max_entries=int(size.value or 0))
        self.expect(";")
        return decl

    def config(self) -> ast.Config:
        first = self.advance()
        self.advance()
        self.expect("{")
        statements: list[ast.AssignConfigStatement] = []
        while self.tok.kind != "}":
            name = self.expect("IDENT", ("}",))
            assign = self.expect("=")
            statements.append(ast.AssignConfigStatement(pos=assign.pos, name=name.text, expr=self.expr()))
            if not self.accept(";") and self.tok.kind != "}":
                self.fail(self.tok, ("}",))
        self.advance()
        return ast.Config(pos=self.span(first), statements=statements)

    def probe(self) -> ast.Probe:
        attach_points = [self.attach_point()]
        while self.accept(","):
            attach_points.append(self.attach_point())
        if self.tok.kind == "END":
            self.error("unexpected end of file, expected {", attach_points[0].pos.to(self.tok.pos))
        predicate = self.predicate() if self.tok.kind == "/" else None
        if self.tok.kind != "{":
            self.fail(self.tok, ("{",) if predicate is None else ())
        block = self.block()
        self.accept(";")
        kept = [ap for ap in attach_points if ap.provider]
        if not kept:
            self.deferred.append(Diagnostic("No attach points for probe", _START))
        return ast.Probe(pos=attach_points[0].pos.to(block.pos), attach_points=kept, predicate=predicate,
                         block=block)

    def attach_point(self) -> ast.AttachPoint:
        """Tokens up to ``,``, ``/`` or ``{`` glued back into text, then split by the provider's rules.

        Its bpftrace location starts where the previous token ended (bison's location for a rule that can
        be empty), so the lead of ``pos`` is there, possibly on an earlier line.
        """
        after = self.prev.pos if self.k else _START
        first = self.tok
        raw: list[str] = []
        while self.tok.kind in _ATTACH_POINT_KINDS:
            raw.append(self.attach_point_text(self.advance()))
        start, end = (first.pos, self.prev.pos) if raw else (after, after)
        pos = Pos(start.line, start.column if raw else after.end_column, end.end_line, end.end_column,
                  after.end_line, after.end_column)
        attach_point = ast.AttachPoint(pos=pos, raw="".join(raw))
        try:
            AttachPointParser(attach_point, self.params).parse()
        except AttachPointError as exc:
            self.deferred.append(Diagnostic(str(exc), pos))
        return attach_point

    def attach_point_text(self, token: Token) -> str:
        if token.kind == "STRING":
            assert isinstance(token.value, bytes)
            text = token.value.decode("utf-8", "surrogateescape")
            return '"' + text.replace('"', '\\"') + '"'
        if token.kind == "INT":
            assert isinstance(token.value, int)
            return str(ast.signed64(token.value))
        if token.kind == "PARAMCOUNT":
            self.error("Not a positional parameter", token.pos)
        if token.kind == "PARAM":
            self.param_index(token)
        return token.text

    def predicate(self) -> ast.Predicate:
        first = self.advance()
        expr = self.expr()
        self.expect("ENDPRED")
        return ast.Predicate(pos=self.span(first), expr=expr)

    # ----------------------------------------------------------------- statements

    def block(self) -> ast.Block:
        first = self.expect("{")
        self.nest(first)
        statements: list[ast.Statement] = []
        while self.tok.kind != "}":
            kind = self.tok.kind
            if kind in ("if", "unroll", "while", "for"):
                statements.append(self.block_statement())
                continue
            if self.tok.text == "let" and self.peek().kind == "VAR":
                statements.append(self.let_statement())
                if not self.accept(";") and self.tok.kind != "}":
                    self.fail(self.tok, ("}",))
                continue
            if kind not in _EXPR_START and kind not in ("break", "continue", "return"):
                self.fail(self.tok, ("}",))
            statements.append(self.simple_statement())
            if not self.accept(";") and self.tok.kind != "}":
                self.fail(self.tok, ("}",))
        self.advance()
        self.depth -= 1
        return ast.Block(pos=self.span(first), statements=statements)

    def let_statement(self) -> ast.Statement:
        """``let $x``, ``let $x: type``, ``let $x = expr`` or ``let $x: type = expr``."""
        self.advance()
        token = self.advance()
        var = ast.Variable(pos=token.pos, name=token.text)
        type_name = None
        if self.accept(":") and self.tok.text == "typeof" and self.peek().kind == "(":
            first = self.advance()
            self.advance()
            of = self.type_or_expr()  # typeof(struct Foo) is the type itself, typeof(expr) the expression's
            self.expect(")")
            if isinstance(of, ast.TypeName) and (of.pointer_depth or " " in of.name):
                type_name = of
            else:  # a bare name may be a type (size_t) or a macro's parameter: semantics decides
                if isinstance(of, ast.TypeName):
                    of = ast.Identifier(pos=of.pos, name=of.name)
                type_name = ast.TypeName(pos=self.span(first), name="typeof", of=of)
        elif self.prev.kind == ":":
            first = self.tok
            name = self.advance().text
            depth = 0
            while self.accept("*"):
                depth += 1
            length = None
            if self.accept("["):
                length = int(self.expect("INT", ("INT",)).value or 0)
                self.expect("]", ("]",))
            type_name = ast.TypeName(pos=self.span(first), name=name, pointer_depth=depth, array_length=length)
        if self.tok.kind == "=":
            op = self.advance()
            return ast.AssignVarStatement(pos=op.pos, var=var, expr=self.expr())
        return ast.VarDeclStatement(pos=self.span(token), var=var, type=type_name)

    def block_statement(self) -> ast.Statement:
        kind = self.tok.kind
        if kind == "if":
            return self.if_statement()
        if kind == "unroll":
            return self.unroll()
        if kind == "while":
            first = self.advance()
            self.expect("(")
            cond = self.expr()
            self.expect(")")
            return ast.While(pos=first.pos, cond=cond, body=self.block())
        return self.for_loop()

    def if_statement(self) -> ast.If:
        first = self.advance()
        cond = self.expr()  # current bpftrace: any expression, parentheses optional
        then = self.block()
        otherwise = None
        if self.accept("else"):
            if self.tok.kind == "if":
                self.chain(self.tok)
                nested = self.if_statement()
                self.chained -= 1
                otherwise = ast.Block(pos=nested.pos.to(self.prev.pos), statements=[nested])
            elif self.tok.kind == "{":
                otherwise = self.block()
            else:
                self.fail(self.tok, ("{", "if"))
        return ast.If(pos=first.pos, cond=cond, then=then, otherwise=otherwise)

    def unroll(self) -> ast.Unroll:
        first = self.advance()
        self.expect("(")
        token = self.tok
        count: ast.Expression
        if token.kind == "-" and self.peek().kind == "INT":
            self.advance()
            count = self.integer(self.advance(), token)
        elif token.kind == "INT":
            count = self.integer(self.advance(), token)
        elif token.kind in ("PARAM", "PARAMCOUNT"):
            count = self.primary()
        else:
            self.fail(token, ("PARAMCOUNT", "-", "PARAM", "INT"))
        self.expect(")")
        pos = self.span(first)
        return ast.Unroll(pos=pos, count=count, body=self.block())

    def for_loop(self) -> ast.For:
        first = self.advance()
        paren = self.accept("(")
        var_token = self.expect("VAR")
        var = ast.Variable(pos=var_token.pos, name=var_token.text)
        self.expect(":")
        start = self.tok
        iterable = self.expr()
        if self.tok.kind == "." and self.peek().kind == ".":
            self.advance()
            self.advance()
            end = self.expr()
            iterable = ast.Range(pos=self.span(start), start=iterable, end=end)
        if paren:
            self.expect(")")
        return ast.For(pos=first.pos, var=var, iterable=iterable, body=self.block())

    def simple_statement(self) -> ast.Statement:
        first = self.tok
        if first.kind in ("break", "continue"):
            self.advance()
            return ast.Jump(pos=first.pos, kind=first.kind)
        if first.kind == "return":
            self.advance()
            value = self.expr() if self.tok.kind in _EXPR_START else None
            return ast.Jump(pos=self.span(first), kind="return", value=value)
        if first.kind == "IDENT" and first.text == "_" and self.peek().kind == "=":
            self.advance()
            self.advance()
            return ast.ExprStatement(pos=self.span(first), expr=self.expr())
        expr = self.expr()
        op = self.tok
        if op.kind == "=" and isinstance(expr, ast.TupleAccess):
            self.advance()
            self.expr()
            self.error("Tuples are immutable once created. Consider creating a new tuple and assigning it "
                       "instead.", self.span(first))
        assignable = first.kind in ("MAP", "VAR") and isinstance(expr, (ast.Map, ast.Variable))
        if not assignable or (op.kind != "=" and op.kind not in _COMPOUND_ASSIGN):
            return ast.ExprStatement(pos=self.span(first), expr=expr)
        self.advance()
        value = self.expr()
        compound = op.kind != "="
        if compound:
            value = ast.Binop(pos=op.pos, op=op.kind[:-1], left=expr, right=value)
        pos = self.span(first) if compound else op.pos
        if isinstance(expr, ast.Map):
            return ast.AssignMapStatement(pos=pos, map=expr, expr=value, compound=compound)
        assert isinstance(expr, ast.Variable)
        return ast.AssignVarStatement(pos=pos, var=expr, expr=value, compound=compound)

    # ----------------------------------------------------------------- expressions

    def expr(self) -> ast.Expression:
        """``conditional_expr``: a ternary over a precedence-climbed binary expression."""
        first = self.tok
        self.nest(first)
        cond = self.binary(0)
        if self.tok.kind == "?":
            self.advance()
            then = cond if self.tok.kind == ":" else self.expr()
            self.expect(":")
            otherwise = self.expr()
            cond = ast.Ternary(pos=self.span(first), cond=cond, then=then, otherwise=otherwise)
        self.depth -= 1
        return cond

    def binary(self, min_level: int) -> ast.Expression:
        left = self.cast()
        chain = 0
        while True:
            level = _PRECEDENCE.get(self.tok.kind, -1)
            if level < min_level:
                break
            op = self.advance()
            self.chain(op)
            chain += 1
            right = self.binary(level + 1)
            left = ast.Binop(pos=op.pos, op=op.kind, left=left, right=right)
        self.chained -= chain
        return left

    def cast(self) -> ast.Expression:
        """``(type) operand``, ``(type *) operand``, or any unary expression."""
        after = self.peek(2).kind
        if (self.tok.kind == "(" and self.peek().kind == "IDENT" and after in (")", "*", "[")
                and not (after == ")" and self.peek(3).kind == "{")):  # `if (cond) {`, not a cast
            first = self.advance()
            type_name = self.type_name(first)
            self.nest(first)
            operand = self.operand_of()
            self.depth -= 1
            return ast.Cast(pos=type_name.pos, type=type_name, expr=operand)
        return self.unary()

    def type_name(self, first: Token) -> ast.TypeName:
        """After ``(``: ``IDENT``, ``IDENT *`` or ``IDENT * *`` then ``)``, as bpftrace 0.17 accepts."""
        name = self.advance().text
        depth = 0
        length = None
        if self.accept("["):
            length = int(self.advance().value or 0) if self.tok.kind == "INT" else 0
            self.expect("]", ("]",))
        while length is None and self.accept("*"):
            depth += 1
            if depth == 2:
                break
        self.expect(")", (")", "*") if depth < 2 else (")",))
        return ast.TypeName(pos=self.span(first), name=name, pointer_depth=depth, array_length=length)

    def operand_of(self) -> ast.Expression:
        """The operand of a prefix operator or cast: another cast or unary expression."""
        if self.tok.kind not in _EXPR_START:
            self.fail(self.tok)
        return self.cast()

    def unary(self) -> ast.Expression:
        token = self.tok
        kind = token.kind
        if kind == "-" and self.peek().kind == "INT":
            self.advance()
            return self.postfix(token, self.integer(self.advance(), token))
        if kind in ("-", "!", "~", "*", "&"):
            self.advance()
            self.nest(token)
            operand = self.operand_of()
            self.depth -= 1
            return ast.Unop(pos=token.pos, op=kind, operand=operand)
        if kind in ("++", "--"):
            self.advance()
            target = self.tok
            if target.kind in _NAME_KINDS:
                self.error(f"The {kind} operator must be applied to a map or variable", token.pos)
            if target.kind not in ("MAP", "VAR"):
                self.fail(target)
            return ast.Unop(pos=token.pos, op=kind, operand=self.primary())
        if kind not in _EXPR_START:
            self.fail(token)
        return self.postfix(token, self.primary())

    def postfix(self, first: Token, expr: ast.Expression) -> ast.Expression:
        """Field, tuple and array access, and ``x++``/``x--`` on maps and variables."""
        if first.kind in _NAME_KINDS and self.prev is first and self.tok.kind in ("++", "--"):
            self.error(f"The {self.tok.kind} operator must be applied to a map or variable", first.pos)
        chain = 0
        while True:
            token = self.tok
            kind = token.kind
            if kind == "." and self.peek().kind != ".":
                self.advance()
                expr = self.member(expr, token)
            elif kind == "->":
                self.advance()
                name = self.field_name()
                deref = ast.Unop(pos=token.pos, op="*", operand=expr)
                expr = ast.FieldAccess(pos=self.span(first), expr=deref, field=name)
            elif kind == "[":
                self.advance()
                index = self.expr()
                self.expect("]")
                expr = ast.ArrayAccess(pos=token.pos.to(self.prev.pos), expr=expr, index=index)
            elif kind in ("++", "--") and chain == 0 and first.kind in ("MAP", "VAR"):
                self.advance()
                expr = ast.Unop(pos=token.pos, op=kind, operand=expr, postfix=True)
            else:
                break
            chain += 1
            self.chain(token)
        self.chained -= chain
        return expr

    def member(self, expr: ast.Expression, dot: Token) -> ast.Expression:
        if self.tok.kind == "INT":
            index = self.advance()
            assert isinstance(index.value, int)
            return ast.TupleAccess(pos=index.pos, expr=expr, index=index.value)
        return ast.FieldAccess(pos=dot.pos, expr=expr, field=self.field_name())

    def field_name(self) -> str:
        if self.tok.kind not in _FIELD_KINDS:
            self.fail(self.tok)
        return self.advance().text

    def primary(self) -> ast.Expression:
        token = self.advance()
        kind = token.kind
        handler = _PRIMARY.get(kind)
        if handler is None:
            self.fail(token)
        return handler(self, token)

    def integer(self, token: Token, first: Token) -> ast.Integer:
        assert isinstance(token.value, int)
        value = -token.value if first is not token else token.value
        return ast.Integer(pos=first.pos.to(token.pos), value=value)

    def param_index(self, token: Token) -> int:
        index = int(token.text[1:])
        if index == 0 or index > _LONG_MAX:
            self.error(f"param {token.text} is out of integer range [1, {_LONG_MAX}]", token.pos)
        return index

    def name(self, token: Token) -> ast.Expression:
        """An identifier, builtin or stack mode, or ``name(...)``: a call of an unknown function."""
        if token.text == "typeof" and self.tok.kind == "(":
            self.advance()
            target = self.type_or_expr()
            self.expect(")")
            return ast.Typeof(pos=self.span(token), target=target)
        if self.tok.kind == "(":
            args = self.call_args()
            if token.text in getattr(self, "macro_names", ()):
                return ast.Call(pos=self.span(token), name=token.text, args=args)
            self.error(f"Unknown function: {token.text}", token.pos)
        if token.kind == "IDENT":
            return ast.Identifier(pos=token.pos, name=token.text)
        if token.kind == "STACK_MODE":
            return ast.StackMode(pos=token.pos, mode=token.text)
        return ast.Builtin(pos=token.pos, name=token.text)

    def call(self, token: Token) -> ast.Expression:
        if self.tok.kind != "(":
            if token.kind == "CALL_BUILTIN":
                return ast.Builtin(pos=token.pos, name=token.text)
            self.fail(self.tok, ("++", "--"))  # bison's list: its `ident ++` error rule wins over `(`
        if token.text == "sizeof":
            return self.sizeof(token)
        if token.text == "offsetof":
            return self.offsetof(token)
        args = self.call_args()
        return ast.Call(pos=self.span(token), name=token.text, args=args)

    def call_args(self) -> list[ast.Expression]:
        self.expect("(")
        if self.accept(")"):
            return []
        return self.expr_list(")")

    def expr_list(self, close: str) -> list[ast.Expression]:
        """``expr, expr, ... close`` (the opening bracket already consumed)."""
        items = [self.expr()]
        while self.accept(","):
            items.append(self.expr())
        self.expect(close, (close, ","))
        return items

    def type_or_expr(self) -> Union[ast.TypeName, ast.Expression]:
        """A ``sizeof``/``offsetof`` operand: a bare type name (``struct Foo``, ``uint32 *``) or an expression."""
        token = self.tok
        stars = 1
        while self.peek(stars).kind == "*":
            stars += 1
        if token.kind == "IDENT" and self.peek(stars).kind in (")", ","):
            self.advance()
            depth = 0
            while self.accept("*"):
                depth += 1
            return ast.TypeName(pos=self.span(token), name=token.text, pointer_depth=depth)
        return self.expr()

    def sizeof(self, token: Token) -> ast.Sizeof:
        self.expect("(")
        target = self.type_or_expr()
        self.expect(")")
        return ast.Sizeof(pos=self.span(token), target=target)

    def offsetof(self, token: Token) -> ast.Offsetof:
        self.expect("(")
        target = self.type_or_expr()
        self.expect(",", (",",))
        name = self.field_name()
        while self.accept("."):
            name += "." + self.field_name()
        self.expect(")")
        return ast.Offsetof(pos=self.span(token), target=target, field=name)

    def block_expr(self, token: Token) -> ast.Expression:
        """``{ statements; value }`` as a value; a block of only a value is that value."""
        self.k -= 1
        block = self.block()
        return self.unwrap(ast.BlockExpr(pos=block.pos, block=block))

    def if_expr(self, token: Token) -> ast.Expression:
        """``if cond { a } else { b }`` as a value: a ternary over the two blocks' values."""
        self.k -= 1
        stmt = self.if_statement()
        if stmt.otherwise is None:
            self.error("if expression requires an else branch", stmt.pos)
        return self.if_value(stmt)

    def if_value(self, stmt: ast.If) -> ast.Ternary:
        assert stmt.otherwise is not None
        then, otherwise = (self.unwrap(ast.BlockExpr(pos=b.pos, block=b)) for b in (stmt.then, stmt.otherwise))
        return ast.Ternary(pos=stmt.pos, cond=stmt.cond, then=then, otherwise=otherwise)

    def unwrap(self, e: ast.BlockExpr) -> ast.Expression:
        """A block's value: its last expression, or its last ``if``/``else`` taken as a value."""
        statements = e.block.statements
        last = statements[-1] if statements else None
        if isinstance(last, ast.If) and last.otherwise is not None:
            statements[-1] = ast.ExprStatement(pos=last.pos, expr=self.if_value(last))
        if len(statements) == 1 and isinstance(statements[0], ast.ExprStatement):
            return statements[0].expr
        self.block_exprs = True
        return e

    def record(self, token: Token) -> ast.Tuple:
        names: list[str] = []
        elements: list[ast.Expression] = []
        while True:
            names.append(self.expect("IDENT").text)
            self.expect("=")
            elements.append(self.expr())
            if self.accept(")"):
                return ast.Tuple(pos=self.span(token), elements=elements, names=names)
            self.expect(",", (")", ","))

    def map(self, token: Token) -> ast.Map:
        keys: list[ast.Expression] = []
        if self.accept("["):
            keys = self.expr_list("]")
        return ast.Map(pos=self.span(token), name=token.text, keys=keys)

    def paren(self, token: Token) -> ast.Expression:
        """``( expr )``, a tuple ``( expr, expr, ... )`` or a record ``(name = expr, ...)``."""
        if self.tok.kind == "IDENT" and self.peek().kind == "=":
            return self.record(token)
        inner = self.expr()
        if self.tok.kind == ")":
            self.advance()
            return inner
        self.expect(",", (")", ","))
        elements = [inner, *self.expr_list(")")]
        return ast.Tuple(pos=self.span(token), elements=elements)


_PrimaryHandler = Callable[[Parser, Token], ast.Expression]

_PRIMARY: dict[str, _PrimaryHandler] = {
    "INT": lambda p, t: p.integer(t, t),
    "STRING": lambda p, t: ast.String(pos=t.pos, value=t.value if isinstance(t.value, bytes) else b""),
    "IDENT": Parser.name,
    "BUILTIN": Parser.name,
    "STACK_MODE": Parser.name,
    "CALL": Parser.call,
    "CALL_BUILTIN": Parser.call,
    "PARAM": lambda p, t: ast.PositionalParameter(pos=t.pos, index=p.param_index(t)),
    "PARAMCOUNT": lambda p, t: ast.PositionalParameterCount(pos=t.pos),
    "MAP": Parser.map,
    "VAR": lambda p, t: ast.Variable(pos=t.pos, name=t.text),
    "(": Parser.paren,
    "{": Parser.block_expr,
    "if": Parser.if_expr,
}


def _display(kind: str) -> str:
    return DISPLAY_NAMES.get(kind, kind)


# --------------------------------------------------------------------- attach points

_PROVIDERS: dict[str, str] = {
    "kprobe": "kprobe", "k": "kprobe",
    "kretprobe": "kretprobe", "kr": "kretprobe",
    "uprobe": "uprobe", "u": "uprobe",
    "uretprobe": "uretprobe", "ur": "uretprobe",
    "usdt": "usdt", "U": "usdt",
    "BEGIN": "BEGIN", "END": "END", "begin": "BEGIN", "end": "END",
    "tracepoint": "tracepoint", "t": "tracepoint",
    "rawtracepoint": "rawtracepoint", "rt": "rawtracepoint",
    "profile": "profile", "p": "profile",
    "interval": "interval", "i": "interval",
    "software": "software", "s": "software",
    "hardware": "hardware", "h": "hardware",
    "watchpoint": "watchpoint", "w": "watchpoint",
    "asyncwatchpoint": "asyncwatchpoint", "aw": "asyncwatchpoint",
    "kfunc": "kfunc", "f": "kfunc", "fentry": "fentry",
    "kretfunc": "kretfunc", "fr": "kretfunc", "fexit": "fexit",
    "iter": "iter", "it": "iter",
    "self": "self",
    "bench": "bench",
}


_DURATION = re.compile(r"([0-9][0-9_]*)(ns|us|ms|s|m|h|d|)")
_DURATION_NS = {"": 1, "ns": 1, "us": 1000, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9,
                "d": 86400 * 10**9}

SELF_SIGNALS = ("SIGUSR1",)
"""The signals a ``self:signal`` probe may wait for, as in bpftrace."""


class AttachPointError(Exception):
    """An attach point's text does not fit its provider; reported after the parse, as bpftrace does."""


class AttachPointParser:
    """Split one attach point's text at unquoted ``:`` and fill its fields by its provider's rules."""

    def __init__(self, attach_point: ast.AttachPoint, params: Sequence[str]) -> None:
        self.ap = attach_point
        self.params = params

    def fail(self, message: str) -> NoReturn:
        raise AttachPointError(message)

    def parse(self) -> None:
        """Fill ``ap``'s fields from ``ap.raw``; an empty attach point (``BEGIN, {``) keeps no provider."""
        ap = self.ap
        parts = self.split(ap.raw)
        if not parts[0]:
            return
        if "*" in parts[0] or "?" in parts[0]:
            ap.provider = parts[0]
            ap.need_expansion = True
            return
        provider = _PROVIDERS.get(parts[0])
        if provider is None:
            self.fail(f"Invalid probe type: {parts[0]}")
        ap.provider = provider
        _RULES[provider](self, parts)
        ap.need_expansion = ap.need_expansion or "*" in ap.target or "*" in ap.func

    def split(self, raw: str) -> list[str]:
        """bpftrace's attach point lexer: quotes group, ``\\`` escapes inside them, ``$N`` is substituted."""
        raw = self.substitute(raw)
        parts: list[str] = []
        current: list[str] = []
        quoted = False
        i = 0
        while i < len(raw):
            char = raw[i]
            if char == ":" and not quoted:
                parts.append("".join(current))
                current = []
            elif char == '"':
                quoted = not quoted
            elif quoted and char == "\\" and i + 1 < len(raw):
                i += 1
                current.append(raw[i])
            else:
                current.append(char)
            i += 1
        parts.append("".join(current))
        return parts

    def substitute(self, raw: str) -> str:
        """``raw`` with each unquoted ``$N`` replaced by its text, which may hold whole parts (``i:ms:1``)."""
        out: list[str] = []
        quoted = False
        i = 0
        while i < len(raw):
            char = raw[i]
            if char == '"':
                quoted = not quoted
            elif quoted and char == "\\" and i + 1 < len(raw):
                out.append(raw[i : i + 2])
                i += 2
                continue
            elif not quoted and char == "$":
                end = i + 1
                while end < len(raw) and raw[end] not in '":':
                    end += 1
                out.append(self.param(raw[i + 1 : end]))
                i = end
                continue
            out.append(char)
            i += 1
        return "".join(out)

    def param(self, index_text: str) -> str:
        digits = len(index_text) - len(index_text.lstrip("0123456789"))
        if digits < len(index_text):
            self.fail(f"Found trailing text '{index_text[digits:]}' in positional parameter index. "
                      "Try quoting the trailing text.")
        index = int(index_text)
        return self.params[index - 1] if 0 < index <= len(self.params) else ""

    def number(self, text: str) -> int:
        try:
            return parse_int(text)
        except ValueError as exc:
            self.fail(str(exc))

    def arguments(self, parts: list[str], counts: tuple[int, ...], wording: str) -> None:
        if len(parts) - 1 not in counts:
            self.fail(f"{self.ap.provider} probe type {wording}")

    def function_offset(self, text: str, allow_offset: bool) -> None:
        """``func`` or ``func+offset`` into ``ap.func``/``ap.offset``."""
        if "+" not in text:
            self.ap.func = text
            return
        if not allow_offset:
            self.fail("Offset not allowed")
        if text.count("+") != 1:
            self.fail("Cannot take more than one offset")
        func, offset = text.split("+")
        if not func or not offset:
            self.fail("Invalid offset")
        self.ap.func = func
        self.ap.offset = self.number(offset)

    def special(self, parts: list[str]) -> None:
        if parts[1:] == ["*"]:
            return
        self.arguments(parts, (0,), "requires 0 arguments")

    def self_trigger(self, parts: list[str]) -> None:
        """``self:signal:SIGUSR1``: runs when bpftrace itself gets the signal."""
        self.arguments(parts, (2,), "requires 2 arguments")
        if parts[1] != "signal":
            self.fail(f"{parts[1]} is not a supported trigger")
        if parts[2] not in SELF_SIGNALS:
            self.fail(f"{parts[2]} is not a supported signal")
        self.ap.target, self.ap.func = parts[1], parts[2]
    def bench(self, parts: list[str]) -> None:
        self.arguments(parts, (1,), "requires 1 argument")
        self.ap.func = parts[1]

    def kprobe(self, parts: list[str]) -> None:
        self.arguments(parts, (1,), "requires 1 argument")
        self.function_offset(parts[1], allow_offset=self.ap.provider == "kprobe")

    def uprobe(self, parts: list[str]) -> None:
        self.arguments(parts, (2,), "requires 2 arguments")
        ap = self.ap
        ap.target = parts[1]
        if "@" in ap.target:  # uprobe:BIN@FILE:LINE, a source location
            ap.target, _, source = ap.target.partition("@")
            ap.source = f"{source}:{parts[2]}"
            return
        if "+" in parts[2]:
            self.function_offset(parts[2], allow_offset=ap.provider == "uprobe")
            return
        try:
            address = parse_int(parts[2])
        except ValueError:
            ap.func = parts[2]
            return
        if "*" in ap.target:
            self.fail("Cannot use wildcards with absolute address")
        ap.address = address

    def usdt(self, parts: list[str]) -> None:
        self.arguments(parts, (2, 3), "requires 2 or 3 arguments")
        ap = self.ap
        ap.target, ap.func = parts[1], parts[-1]
        ap.ns = parts[2] if len(parts) == 4 else ""
        ap.need_expansion = not ap.ns or "*" in ap.ns

    def tracepoint(self, parts: list[str]) -> None:
        if len(parts) == 2 and "*" in parts[1]:
            parts.insert(1, "*")
        self.arguments(parts, (2,), "requires 2 arguments")
        self.ap.target, self.ap.func = parts[1], parts[2]

    def timer(self, parts: list[str]) -> None:
        self.arguments(parts, (1, 2), "requires 1 or 2 arguments")
        if len(parts) == 2:
            self.period(parts[1])
            return
        self.ap.target = parts[1]
        self.ap.freq = self.number(parts[2])

    def period(self, text: str) -> None:
        """``interval:1s``: one duration (nanoseconds unless suffixed), kept in microseconds as bpftrace does."""
        if "*" in text:
            self.ap.target = text
            return
        match = _DURATION.fullmatch(text)
        if match is None:
            problem = "invalid trailing bytes" if text[:1].isdigit() else "invalid integer"
            self.fail(f"Invalid rate of {self.ap.provider} probe: {problem}: {text}")
        nanoseconds = int(match.group(1).replace("_", "")) * _DURATION_NS[match.group(2)]
        if nanoseconds < 1000:
            self.fail(f"Invalid rate of {self.ap.provider} probe. Minimum is 1000 or 1us. Found: {nanoseconds} "
                      "nanoseconds")
        self.ap.target, self.ap.freq = "us", nanoseconds // 1000

    def event(self, parts: list[str]) -> None:
        self.arguments(parts, (1, 2), "requires 1 or 2 arguments")
        self.ap.target = parts[1]
        if len(parts) == 3 and parts[2] != "*":
            self.ap.freq = self.number(parts[2])

    def watchpoint(self, parts: list[str]) -> None:
        self.arguments(parts, (3,), "requires 3 arguments")
        ap = self.ap
        if "+" not in parts[1]:
            ap.address = self.number(parts[1])
        else:
            pieces = [piece for piece in parts[1].split("+") if piece]
            if len(pieces) != 2:
                self.fail("Invalid function/address argument")
            ap.func, arg = pieces
            if len(arg) <= 3 or not arg.startswith("arg"):
                self.fail("Invalid function argument")
            ap.address = self.number(arg[3:])
        ap.length = self.number(parts[2])
        ap.mode = parts[3]

    def kfunc(self, parts: list[str]) -> None:
        self.arguments(parts, (1, 2), "requires 1 or 2 arguments")
        if len(parts) == 3:
            self.ap.target, self.ap.func = parts[1], parts[2]
        else:
            self.ap.func = parts[1]
            self.ap.target = "*" if "*" in parts[1] else ""

    def iterator(self, parts: list[str]) -> None:
        self.arguments(parts, (1, 2), "takes 2 arguments (1 optional)")
        if "*" in parts[1]:
            self.fail(f"{self.ap.provider} probe type does not support wildcards")
        self.ap.func = parts[1]
        self.ap.pin = parts[2] if len(parts) == 3 else ""


_RULES: dict[str, Callable[[AttachPointParser, list[str]], None]] = {
    "BEGIN": AttachPointParser.special,
    "END": AttachPointParser.special,
    "kprobe": AttachPointParser.kprobe,
    "kretprobe": AttachPointParser.kprobe,
    "uprobe": AttachPointParser.uprobe,
    "uretprobe": AttachPointParser.uprobe,
    "usdt": AttachPointParser.usdt,
    "tracepoint": AttachPointParser.tracepoint,
    "rawtracepoint": AttachPointParser.kfunc,
    "profile": AttachPointParser.timer,
    "interval": AttachPointParser.timer,
    "software": AttachPointParser.event,
    "hardware": AttachPointParser.event,
    "watchpoint": AttachPointParser.watchpoint,
    "asyncwatchpoint": AttachPointParser.watchpoint,
    "kfunc": AttachPointParser.kfunc,
    "kretfunc": AttachPointParser.kfunc,
    "fentry": AttachPointParser.kfunc,
    "fexit": AttachPointParser.kfunc,
    "iter": AttachPointParser.iterator,
    "self": AttachPointParser.self_trigger,
    "bench": AttachPointParser.bench,
}


def library_definitions() -> list[Any]:
    """The standard library's macro definitions (``stdlib.SOURCE`` parsed)."""
    from tinybpf.trace.syntax import stdlib

    parser = Parser(stdlib.SOURCE + "BEGIN {}", stdlib.FILENAME, [])
    parser.macro_names = set(stdlib.NAMES)
    macros = []
    while parser.tok.text == "macro":
        macro = parser.macro_definition()
        macros.append(macro)
    return macros
