"""Preprocessed tokens -> the C syntax tree (C11 with the GNU C that eBPF programs use).

Recursive descent, one method per grammar rule. C's one ambiguity, whether an identifier names a type,
is answered by the scopes the parser keeps and, once the virtual vmlinux.h was included (its
``#pragma tinybpf kernel_types``), by the ``known_type`` callback: the kernel's typedefs from BTF. A syntax error is
reported and the parser skips to the end of the statement or declaration, so one run reports several.
"""
from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import NoReturn, Optional, Union

from tinybpf.cc.diagnostics import Diagnostics, Loc
from tinybpf.cc.preprocess.conditions import char_value, parse_integer
from tinybpf.cc.preprocess.lexer import CHAR, IDENT, NUMBER, PUNCT, STRING, Token
from tinybpf.cc.preprocess.preprocessor import PRAGMA
from tinybpf.cc.syntax import ast

_STORAGE = {"typedef", "extern", "static", "auto", "register", "_Thread_local", "__thread"}
_QUALIFIERS = {
    "const": "const", "__const": "const", "__const__": "const", "volatile": "volatile", "__volatile": "volatile",
    "__volatile__": "volatile", "restrict": "restrict", "__restrict": "restrict", "__restrict__": "restrict",
    "_Atomic": "_Atomic", "_Nonnull": "", "_Nullable": "", "__seg_fs": "", "__seg_gs": "",
}
_FUNCTION_SPECIFIERS = {"inline": "inline", "__inline": "inline", "__inline__": "inline", "_Noreturn": "_Noreturn"}
_TYPE_KEYWORDS = {
    "void", "char", "short", "int", "long", "float", "double", "signed", "unsigned", "_Bool", "_Complex",
    "__int128", "__signed", "__signed__", "__builtin_va_list", "__auto_type", "_Float16", "__fp16", "__bf16",
}
_TYPEOF = {"typeof", "__typeof", "__typeof__", "typeof_unqual", "__typeof_unqual__"}
_ALIGNOF = {"_Alignof", "__alignof", "__alignof__", "alignof"}
_BINARY = {
    "||": 1, "&&": 2, "|": 3, "^": 4, "&": 5, "==": 6, "!=": 6, "<": 7, ">": 7, "<=": 7, ">=": 7,
    "<<": 8, ">>": 8, "+": 9, "-": 9, "*": 10, "/": 10, "%": 10,
}
_ASSIGN = {"=", "+=", "-=", "*=", "/=", "%=", "<<=", ">>=", "&=", "^=", "|="}
_TYPE_BUILTINS = {"__builtin_types_compatible_p", "__builtin_va_arg", "__builtin_convertvector"}
_CLANG_ATTRIBUTE_PUSH = re.compile(r"clang\s+attribute\s+push\s*\(\s*__attribute__\s*\(\((?P<attrs>.*)\)\)\s*,\s*"
                                   r"apply_to\s*=\s*(?P<what>\w+)")
_ESCAPES = {"n": 10, "t": 9, "r": 13, "0": 0, "a": 7, "b": 8, "f": 12, "v": 11, "e": 27, "\\": 92, "'": 39,
            '"': 34, "?": 63}
MAX_DEPTH = 256  # nesting of expressions/statements/declarators before "too deeply nested"


class _Recover(Exception):
    """Unwinds to the enclosing statement or declaration after a reported syntax error."""


def _root_loc(token: Token) -> Loc:
    """Where a node is in the file (for a token out of a macro, the outermost invocation)."""
    expansion = token.expansion
    if expansion is None:
        return token.loc
    while expansion.parent is not None:
        expansion = expansion.parent
    return expansion.loc._replace(macro=True)


class Parser:
    def __init__(
        self,
        tokens: list[Token],
        diagnostics: Diagnostics,
        known_type: Optional[Callable[[str], bool]] = None,
    ) -> None:
        self.tokens = tokens
        self.pos = 0
        self.diagnostics = diagnostics
        self.known_type = known_type
        self.scopes: list[dict[str, bool]] = [{}]  # name -> True for a typedef, False for anything else
        self.pragmas: list[tuple[str, Loc]] = []
        self.pending_pragmas: list[str] = []
        self.record_attributes: list[list[ast.Attribute]] = []  # clang attribute push ... apply_to = record
        self.kernel_types = False  # `#pragma tinybpf kernel_types` (the virtual vmlinux.h) was seen
        self.depth = 0
        end_loc = tokens[-1].loc if tokens else Loc("<stdin>", 1, 1)
        self.eof = Token("eof", "", end_loc)

    # ----- token helpers

    def peek(self, ahead: int = 0) -> Token:
        index = self.pos + ahead
        while True:
            if index >= len(self.tokens):
                return self.eof
            token = self.tokens[index]
            if token.kind != PRAGMA:
                return token
            if index == self.pos:
                self._pragma(token)
                self.pos += 1
                index += 1
                continue
            index += 1

    def next(self) -> Token:
        token = self.peek()
        if token is not self.eof:
            self.pos += 1
        return token

    def at(self, text: str) -> bool:
        token = self.peek()
        return token.text == text and token.kind in (PUNCT, IDENT)

    def accept(self, text: str) -> Optional[Token]:
        if self.at(text):
            return self.next()
        return None

    def expect(self, text: str, what: str = "") -> Token:
        if self.at(text):
            return self.next()
        message = f"expected '{text}'" + (f" {what}" if what else "")
        previous = self.tokens[self.pos - 1] if self.pos else None
        if text == ";" and previous is not None and previous.expansion is None:
            # As clang: a missing semicolon belongs just after the token it should follow.
            loc = previous.loc._replace(column=previous.loc.column + len(previous.text))
            self.diagnostics.error(message, loc)
            raise _Recover
        self.fail(message, self.peek())

    def fail(self, message: str, token: Token) -> NoReturn:
        self.diagnostics.error(message, token.loc, token.expansion)
        raise _Recover

    def loc(self, token: Token) -> Loc:
        return _root_loc(token)

    def _pragma(self, token: Token) -> None:
        loc = self.loc(token)
        self.pragmas.append((token.text, loc))
        words = token.text.split()
        if words[:1] == ["unroll"] or words[:2] == ["clang", "loop"] or words[:2] == ["GCC", "unroll"] \
                or words[:1] == ["nounroll"]:
            self.pending_pragmas.append(token.text)
            return
        if words[:2] == ["tinybpf", "kernel_types"]:
            self.kernel_types = True
            return
        pushed = _CLANG_ATTRIBUTE_PUSH.match(token.text)
        if pushed:
            names = [a.strip() for a in pushed.group("attrs").split(",") if a.strip()]
            attrs = [ast.Attribute(name, [], loc) for name in names] if pushed.group("what") == "record" else []
            self.record_attributes.append(attrs)
        elif words[:3] == ["clang", "attribute", "pop"] and self.record_attributes:
            self.record_attributes.pop()

    def _enter(self, token: Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.depth = 0
            self.fail("bracket nesting level exceeded maximum of 256", token)

    # ----- scopes

    def is_type_name(self, name: str) -> bool:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return bool(self.kernel_types and self.known_type and self.known_type(name))

    def declare(self, name: Optional[str], typedef: bool) -> None:
        if name:
            self.scopes[-1][name] = typedef

    def starts_type(self, token: Token) -> bool:
        if token.kind != IDENT:
            return False
        text = token.text
        return (
            text in _TYPE_KEYWORDS or text in _QUALIFIERS or text in ("struct", "union", "enum")
            or text in _TYPEOF or text in ("_Alignas", "__attribute__", "__attribute", "__extension__")
            or self.is_type_name(text)
        )

    def starts_declaration(self, token: Token) -> bool:
        return self.starts_type(token) or token.text in _STORAGE or token.text in _FUNCTION_SPECIFIERS \
            or token.text in ("_Static_assert", "static_assert")

    # ----- translation unit

    def translation_unit(self) -> ast.TranslationUnit:
        items: list[Union[ast.FunctionDef, ast.Declaration, ast.StaticAssert, ast.Asm]] = []
        while self.peek() is not self.eof:
            start = self.pos
            try:
                if self.accept(";"):
                    continue
                if self.peek().text in ("asm", "__asm__", "__asm") and self.peek(1).text == "(":
                    items.append(self.asm_statement())
                    continue
                items.append(self.external_declaration())
            except _Recover:
                self.depth = 0
                self._skip_declaration(start)
        self.peek()  # trailing pragmas
        return ast.TranslationUnit(items, self.pragmas)

    def _skip_declaration(self, start: int) -> None:
        """After an error: on to the next ``;`` or the end of the current brace block, at least one token."""
        depth = 0
        if self.pos == start:
            self.next()
        while self.peek() is not self.eof:
            token = self.next()
            if token.text == "{":
                depth += 1
            elif token.text == "}":
                depth -= 1
                if depth <= 0:
                    self.accept(";")
                    return
            elif token.text == ";" and depth <= 0:
                return

    def external_declaration(self) -> Union[ast.FunctionDef, ast.Declaration, ast.StaticAssert]:
        first = self.peek()
        if first.text in ("_Static_assert", "static_assert"):
            return self.static_assert()
        specs = self.declaration_specifiers()
        if self.accept(";"):
            return ast.Declaration(specs, [], self.loc(first))
        declarator = self.declarator()
        if declarator.layers and isinstance(declarator.layers[0], ast.FunctionLayer):
            self.attributes_into(declarator.attributes)
            if self.at("{"):
                self.declare(declarator.name, False)
                return self.function_definition(specs, declarator, first)
        return self.rest_of_declaration(specs, declarator, first)

    def function_definition(self, specs: ast.DeclSpecs, declarator: ast.Declarator, first: Token) -> ast.FunctionDef:
        layer = declarator.layers[0]
        assert isinstance(layer, ast.FunctionLayer)
        self.scopes.append({})
        for param in layer.params:
            self.declare(param.declarator.name, False)
        body = self.compound_statement(new_scope=False)
        self.scopes.pop()
        return ast.FunctionDef(specs, declarator, body, self.loc(first))

    def rest_of_declaration(self, specs: ast.DeclSpecs, declarator: ast.Declarator, first: Token) -> ast.Declaration:
        typedef = "typedef" in specs.storage
        declarators = []
        while True:
            self.declarator_suffix_extras(declarator)
            self.declare(declarator.name, typedef)
            init = None
            if self.accept("="):
                init = self.initializer()
            declarators.append(ast.InitDeclarator(declarator, init))
            if not self.accept(","):
                break
            declarator = self.declarator()
        self.expect(";", "after declaration")
        return ast.Declaration(specs, declarators, self.loc(first))

    def declarator_suffix_extras(self, declarator: ast.Declarator) -> None:
        """``asm("label")`` and attributes after a declarator."""
        while True:
            if self.peek().text in ("asm", "__asm__", "__asm") and self.peek(1).text == "(":
                self.next()
                self.next()
                label = self.string_literal()
                self.expect(")")
                declarator.asm_label = label.value.decode("latin-1")
                continue
            if not self.attributes_into(declarator.attributes):
                return

    def declaration(self) -> Union[ast.Declaration, ast.StaticAssert]:
        first = self.peek()
        if first.text in ("_Static_assert", "static_assert"):
            return self.static_assert()
        specs = self.declaration_specifiers()
        if self.accept(";"):
            return ast.Declaration(specs, [], self.loc(first))
        return self.rest_of_declaration(specs, self.declarator(), first)

    def static_assert(self) -> ast.StaticAssert:
        first = self.next()
        self.expect("(")
        condition = self.conditional_expression()
        message = None
        if self.accept(","):
            message = self.string_literal()
        self.expect(")")
        self.expect(";")
        return ast.StaticAssert(condition, message, self.loc(first))

    # ----- declaration specifiers

    def declaration_specifiers(self, allow_storage: bool = True) -> ast.DeclSpecs:
        specs = ast.DeclSpecs(loc=self.loc(self.peek()))
        while True:
            token = self.peek()
            text = token.text
            if token.kind != IDENT:
                break
            if text in _STORAGE and allow_storage:
                specs.storage.append("_Thread_local" if text == "__thread" else text)
            elif text in _QUALIFIERS:
                if _QUALIFIERS[text]:
                    specs.qualifiers.append(_QUALIFIERS[text])
            elif text in _FUNCTION_SPECIFIERS:
                specs.function.append(_FUNCTION_SPECIFIERS[text])
            elif text == "__extension__":
                pass
            elif text in ("__attribute__", "__attribute"):
                self.attributes_into(specs.attributes)
                continue
            elif text == "_Alignas":
                self.next()
                self.expect("(")
                specs.alignas.append(self.type_name() if self.starts_type(self.peek()) else self.conditional_expression())
                self.expect(")")
                continue
            elif text in _TYPE_KEYWORDS:
                specs.specifiers.append("signed" if text in ("__signed", "__signed__") else text)
            elif text in ("struct", "union"):
                specs.specifiers.append(self.record_specifier())
                continue
            elif text == "enum":
                specs.specifiers.append(self.enum_specifier())
                continue
            elif text in _TYPEOF:
                specs.specifiers.append(self.typeof_specifier())
                continue
            elif (
                not specs.specifiers
                and specs.typedef_name is None
                and self.is_type_name(text)
                and not (self.peek(1).text in (";", ",", ")") and specs.storage)
            ):
                specs.typedef_name = text
                specs.specifiers.append(text)
            else:
                break
            self.next()
        if not specs.specifiers and not specs.typedef_name:
            token = self.peek()
            if token.kind == IDENT and (self.peek(1).kind == IDENT or self.peek(1).text == "*"):
                self.fail(f"unknown type name '{token.text}'", token)
            if not (specs.storage or specs.qualifiers or specs.function):
                self.fail("expected a type", token)
            self.diagnostics.warning("type specifier missing, defaults to 'int'", token.loc, token.expansion)
            specs.specifiers.append("int")
        return specs

    def record_specifier(self) -> ast.RecordSpec:
        first = self.next()
        attributes: list[ast.Attribute] = []
        self.attributes_into(attributes)
        tag = None
        if self.peek().kind == IDENT and not self.at("{"):
            tag = self.next().text
        self.attributes_into(attributes)
        fields = None
        if self.accept("{"):
            self._enter(first)
            fields = []
            while not self.at("}"):
                if self.peek() is self.eof:
                    self.fail("expected '}'", self.peek())
                if self.accept(";"):
                    continue
                fields.extend(self.struct_declaration())
            self.expect("}")
            self.depth -= 1
            self.attributes_into(attributes)
            for pushed in self.record_attributes:
                attributes.extend(pushed)
        if tag is None and fields is None:
            self.fail(f"declaration of anonymous {first.text} must be a definition", self.peek())
        return ast.RecordSpec(first.text, tag, fields, attributes, self.loc(first))

    def struct_declaration(self) -> list[ast.FieldDecl]:
        first = self.peek()
        if first.text in ("_Static_assert", "static_assert"):
            self.static_assert()
            return []
        specs = self.declaration_specifiers(allow_storage=False)
        if self.accept(";"):
            return [ast.FieldDecl(specs, None, None, self.loc(first))]
        fields = []
        while True:
            declarator: Optional[ast.Declarator]
            if self.at(":"):
                declarator = ast.Declarator(None, [], [], self.loc(self.peek()))
            else:
                declarator = self.declarator()
            bits = self.conditional_expression() if self.accept(":") else None
            self.attributes_into(declarator.attributes)
            fields.append(ast.FieldDecl(specs, declarator, bits, self.loc(first)))
            if not self.accept(","):
                break
        self.expect(";", "at end of declaration list")
        return fields

    def enum_specifier(self) -> ast.EnumSpec:
        first = self.next()
        attributes: list[ast.Attribute] = []
        self.attributes_into(attributes)
        tag = self.next().text if self.peek().kind == IDENT else None
        if self.accept(":"):
            self.type_name()  # C23 fixed underlying type; the type checker uses int-sized enums
        enumerators = None
        if self.accept("{"):
            enumerators = []
            while not self.at("}"):
                name = self.peek()
                if name.kind != IDENT:
                    self.fail("expected identifier", name)
                self.next()
                self.attributes_into(attributes)
                value = self.conditional_expression() if self.accept("=") else None
                enumerators.append(ast.Enumerator(name.text, value, self.loc(name)))
                self.declare(name.text, False)
                if not self.accept(","):
                    break
            self.expect("}")
            self.attributes_into(attributes)
        if tag is None and enumerators is None:
            self.fail("expected identifier or '{'", self.peek())
        return ast.EnumSpec(tag, enumerators, attributes, self.loc(first))

    def typeof_specifier(self) -> ast.TypeofSpec:
        first = self.next()
        self.expect("(")
        if self.starts_type(self.peek()):
            spec = ast.TypeofSpec(None, self.type_name(), self.loc(first))
        else:
            spec = ast.TypeofSpec(self.expression(), None, self.loc(first))
        self.expect(")")
        return spec

    def attributes_into(self, out: list[ast.Attribute]) -> bool:
        """Parse any ``__attribute__((...))`` here; True when there was one."""
        found = False
        while self.peek().text in ("__attribute__", "__attribute") and self.peek().kind == IDENT:
            found = True
            self.next()
            self.expect("(")
            self.expect("(")
            while not self.at(")"):
                if self.accept(","):
                    continue
                name = self.next()
                if name.kind != IDENT:
                    self.fail("expected identifier in attribute", name)
                args: list[ast.Expr] = []
                if self.accept("("):
                    while not self.at(")"):
                        args.append(self.assignment_expression())
                        if not self.accept(","):
                            break
                    self.expect(")")
                out.append(ast.Attribute(name.text.strip("_") or name.text, args, self.loc(name)))
            self.expect(")")
            self.expect(")")
        return found

    # ----- declarators

    def declarator(self, abstract: bool = False) -> ast.Declarator:
        first = self.peek()
        self._enter(first)
        pointers: list[ast.PointerLayer] = []
        attributes: list[ast.Attribute] = []
        while True:
            if self.accept("*"):
                layer = ast.PointerLayer([], [])
                while True:
                    token = self.peek()
                    if token.text in _QUALIFIERS:
                        self.next()
                        if _QUALIFIERS[token.text]:
                            layer.qualifiers.append(_QUALIFIERS[token.text])
                    elif not self.attributes_into(layer.attributes):
                        break
                pointers.append(layer)
            elif not self.attributes_into(attributes):
                break
        name = None
        inner: list[ast.Layer] = []
        loc = self.loc(self.peek())
        token = self.peek()
        if token.kind == IDENT and not (abstract and self.is_type_name(token.text)) and token.text not in _QUALIFIERS:
            name = self.next().text
        elif token.text == "(" and self._nested_declarator_follows(abstract):
            self.next()
            nested = self.declarator(abstract)
            self.expect(")")
            name, inner, loc = nested.name, nested.layers, nested.loc
            attributes.extend(nested.attributes)
        elif not abstract:
            self.fail("expected identifier or '('", token)
        suffixes: list[ast.Layer] = []
        while True:
            token = self.peek()
            if token.text == "[":
                self.next()
                while self.peek().text in _QUALIFIERS or self.peek().text == "static":
                    self.next()
                size = None if self.at("]") else (self.assignment_expression() if not self.at("*") else None)
                self.accept("*")
                self.expect("]")
                suffixes.append(ast.ArrayLayer(size, self.loc(token)))
            elif token.text == "(":
                self.next()
                suffixes.append(self.parameter_list(token))
            else:
                break
        self.depth -= 1
        return ast.Declarator(name, inner + suffixes + list(reversed(pointers)), attributes, loc)

    def _nested_declarator_follows(self, abstract: bool) -> bool:
        """After ``(`` in a declarator: a parenthesized declarator, or (abstractly) a parameter list?"""
        following = self.peek(1)
        if following.text in ("*", "(", "[", "^") or following.text in ("__attribute__", "__attribute"):
            return following.text != "[" or not abstract
        if following.kind == IDENT:
            return not self.starts_type(following) if abstract else True
        return False

    def parameter_list(self, open_paren: Token) -> ast.FunctionLayer:
        params: list[ast.ParamDecl] = []
        variadic = False
        loc = self.loc(open_paren)
        if self.accept(")"):
            return ast.FunctionLayer(params, False, False, loc)
        if self.at("void") and self.peek(1).text == ")":
            self.next()
            self.next()
            return ast.FunctionLayer(params, False, True, loc)
        self.scopes.append({})
        try:
            while True:
                if self.accept("..."):
                    variadic = True
                    break
                first = self.peek()
                if first.kind == IDENT and not self.starts_declaration(first) and self.peek(1).text in (",", ")"):
                    self.next()  # K&R identifier list: the types come later
                    params.append(ast.ParamDecl(ast.DeclSpecs(specifiers=["int"]),
                                                ast.Declarator(first.text, [], [], self.loc(first)), self.loc(first)))
                else:
                    specs = self.declaration_specifiers()
                    declarator = self.declarator(abstract=True)
                    self.attributes_into(declarator.attributes)
                    params.append(ast.ParamDecl(specs, declarator, self.loc(first)))
                if not self.accept(","):
                    break
            self.expect(")")
        finally:
            self.scopes.pop()
        return ast.FunctionLayer(params, variadic, True, loc)

    def type_name(self) -> ast.TypeName:
        first = self.peek()
        specs = self.declaration_specifiers(allow_storage=False)
        declarator = self.declarator(abstract=True)
        return ast.TypeName(specs, declarator, self.loc(first))

    # ----- initializers

    def initializer(self) -> ast.Initializer:
        if self.at("{"):
            return self.initializer_list()
        return self.assignment_expression()

    def initializer_list(self) -> ast.InitList:
        first = self.expect("{")
        self._enter(first)
        items: list[tuple[list[ast.Designator], ast.Initializer]] = []
        while not self.at("}"):
            designators: list[ast.Designator] = []
            colon_form = False
            while True:
                if self.accept("."):
                    name = self.next()
                    if name.kind != IDENT:
                        self.fail("expected a field designator, such as '.field = 4'", name)
                    designators.append(ast.Designator(field=name.text))
                elif self.accept("["):
                    index = self.conditional_expression()
                    last = self.conditional_expression() if self.accept("...") else None
                    self.expect("]")
                    designators.append(ast.Designator(index=index, last=last))
                elif self.peek().kind == IDENT and self.peek(1).text == ":" and not designators:
                    designators.append(ast.Designator(field=self.next().text))  # GNU old-style `field: value`
                    self.next()
                    colon_form = True
                    break
                else:
                    break
            if designators and not colon_form:
                self.expect("=", "after designator")
            items.append((designators, self.initializer()))
            if not self.accept(","):
                break
        self.expect("}")
        self.depth -= 1
        return ast.InitList(items, self.loc(first))

    # ----- statements

    def compound_statement(self, new_scope: bool = True) -> ast.Compound:
        first = self.expect("{")
        self._enter(first)
        if new_scope:
            self.scopes.append({})
        items: list[Union[ast.Stmt, ast.Declaration, ast.StaticAssert]] = []
        while not self.at("}"):
            if self.peek() is self.eof:
                self.diagnostics.error("expected '}'", self.peek().loc)
                self.diagnostics.error("to match this '{'", first.loc, first.expansion)
                break
            start = self.pos
            try:
                items.append(self.block_item())
            except _Recover:
                self.depth = max(self.depth, 1)
                self._skip_statement(start)
        end = self.accept("}")
        if new_scope:
            self.scopes.pop()
        self.depth -= 1
        return ast.Compound(items, self.loc(first), self.loc(end) if end else None)

    def _skip_statement(self, start: int) -> None:
        depth = 0
        if self.pos == start:
            self.next()
        while self.peek() is not self.eof:
            token = self.peek()
            if token.text == "}" and depth == 0:
                return
            self.next()
            if token.text == "{":
                depth += 1
            elif token.text == "}":
                depth -= 1
                if depth == 0:
                    return
            elif token.text == ";" and depth == 0:
                return

    def block_item(self) -> Union[ast.Stmt, ast.Declaration, ast.StaticAssert]:
        token = self.peek()
        if self.starts_declaration(token) and not (token.kind == IDENT and self.peek(1).text == ":"
                                                    and not self.is_type_name(token.text)):
            if token.text == "__extension__" and self.peek(1).text == "(":
                return self.statement()
            return self.declaration()
        return self.statement()

    def statement(self) -> ast.Stmt:
        token = self.peek()
        self._enter(token)
        try:
            return self._statement(token)
        finally:
            self.depth -= 1

    def _statement(self, token: Token) -> ast.Stmt:
        text = token.text
        loc = self.loc(token)
        pragmas, self.pending_pragmas = self.pending_pragmas, []
        if token.kind == PUNCT:
            if text == "{":
                return self.compound_statement()
            if text == ";":
                self.next()
                return ast.ExprStmt(None, loc)
        elif token.kind == IDENT:
            if self.peek(1).text == ":" and text not in ("default",) and not self.is_type_name(text):
                self.next()
                self.next()
                attributes: list[ast.Attribute] = []
                self.attributes_into(attributes)
                if self.at("}"):
                    return ast.Labeled(text, ast.ExprStmt(None, loc), loc)
                return ast.Labeled(text, self.statement(), loc)
            handler = _STATEMENTS.get(text)
            if handler is not None:
                statement = handler(self, token)
                if isinstance(statement, ast.Loop):
                    statement.pragmas = pragmas
                return statement
            if text in ("__attribute__", "__attribute"):
                attributes = []
                self.attributes_into(attributes)
                self.expect(";")
                return ast.ExprStmt(None, loc, attributes)
        expr = self.expression()
        self.expect(";", "after expression")
        return ast.ExprStmt(expr, loc)

    def if_statement(self, token: Token) -> ast.If:
        self.next()
        self.expect("(", "after 'if'")
        condition = self.expression()
        self.expect(")")
        then = self.statement()
        otherwise = self.statement() if self.accept("else") else None
        return ast.If(condition, then, otherwise, self.loc(token))

    def while_statement(self, token: Token) -> ast.Loop:
        self.next()
        self.expect("(", "after 'while'")
        condition = self.expression()
        self.expect(")")
        return ast.Loop("while", None, condition, None, self.statement(), self.loc(token))

    def do_statement(self, token: Token) -> ast.Loop:
        self.next()
        body = self.statement()
        self.expect("while", "in do/while loop")
        self.expect("(", "after 'while'")
        condition = self.expression()
        self.expect(")")
        self.expect(";", "after do/while statement")
        return ast.Loop("do", None, condition, None, body, self.loc(token))

    def for_statement(self, token: Token) -> ast.Loop:
        self.next()
        self.expect("(", "after 'for'")
        self.scopes.append({})
        try:
            init: Optional[Union[ast.Expr, ast.Declaration]] = None
            if self.starts_declaration(self.peek()):
                declaration = self.declaration()
                assert isinstance(declaration, ast.Declaration)
                init = declaration
            else:
                if not self.at(";"):
                    init = self.expression()
                self.expect(";", "in 'for' statement specifier")
            condition = None if self.at(";") else self.expression()
            self.expect(";", "in 'for' statement specifier")
            step = None if self.at(")") else self.expression()
            self.expect(")")
            body = self.statement()
        finally:
            self.scopes.pop()
        return ast.Loop("for", init, condition, step, body, self.loc(token))

    def switch_statement(self, token: Token) -> ast.Switch:
        self.next()
        self.expect("(", "after 'switch'")
        value = self.expression()
        self.expect(")")
        return ast.Switch(value, self.statement(), self.loc(token))

    def case_statement(self, token: Token) -> ast.Case:
        self.next()
        value = last = None
        if token.text == "case":
            value = self.conditional_expression()
            if self.accept("..."):
                last = self.conditional_expression()
        self.expect(":", f"after '{token.text}'")
        body: ast.Stmt = ast.ExprStmt(None, self.loc(token)) if self.at("}") else self.statement()
        return ast.Case(value, last, body, self.loc(token))

    def jump_statement(self, token: Token) -> ast.Jump:
        self.next()
        value = label = None
        if token.text == "return" and not self.at(";"):
            value = self.expression()
        elif token.text == "goto":
            if self.accept("*"):
                value = self.expression()
            else:
                name = self.next()
                if name.kind != IDENT:
                    self.fail("expected identifier", name)
                label = name.text
        self.expect(";", f"after {token.text} statement" if token.text != "return" else "after return statement")
        return ast.Jump(token.text, value, label, self.loc(token))

    def asm_statement(self, token: Optional[Token] = None) -> ast.Asm:
        first = self.next()
        qualifiers = []
        while self.peek().text in ("volatile", "__volatile__", "__volatile", "goto", "inline", "__inline__"):
            qualifiers.append(self.next().text.strip("_"))
        self.expect("(", "after 'asm'")
        template = self.string_literal().value.decode("latin-1")
        sections: list[list[ast.AsmOperand]] = [[], []]
        clobbers: list[str] = []
        labels: list[str] = []
        for part in range(4):
            if not self.accept(":"):
                break
            if part < 2:
                while self.at("[") or self.peek().kind == STRING:
                    name = None
                    if self.accept("["):
                        name = self.next().text
                        self.expect("]")
                    constraint = self.string_literal().value.decode("latin-1")
                    self.expect("(")
                    expr = self.expression()
                    self.expect(")")
                    sections[part].append(ast.AsmOperand(name, constraint, expr))
                    if not self.accept(","):
                        break
            elif part == 2:
                while self.peek().kind == STRING:
                    clobbers.append(self.string_literal().value.decode("latin-1"))
                    if not self.accept(","):
                        break
            else:
                while self.peek().kind == IDENT:
                    labels.append(self.next().text)
                    if not self.accept(","):
                        break
        self.expect(")")
        self.accept(";")
        return ast.Asm(template, sections[0], sections[1], clobbers, labels, qualifiers, self.loc(first))

    # ----- expressions

    def expression(self) -> ast.Expr:
        expr = self.assignment_expression()
        while self.at(","):
            token = self.next()
            expr = ast.Comma(expr, self.assignment_expression(), self.loc(token))
        return expr

    def assignment_expression(self) -> ast.Expr:
        left = self.conditional_expression()
        token = self.peek()
        if token.kind == PUNCT and token.text in _ASSIGN:
            self.next()
            return ast.Assign(token.text, left, self.assignment_expression(), self.loc(token))
        return left

    def conditional_expression(self) -> ast.Expr:
        condition = self.binary_expression(1)
        if not self.at("?"):
            return condition
        token = self.next()
        then = None if self.at(":") else self.expression()
        self.expect(":", "in conditional expression")
        return ast.Conditional(condition, then, self.conditional_expression(), self.loc(token))

    def binary_expression(self, level: int) -> ast.Expr:
        """Precedence climbing: left-associative chains loop instead of recursing."""
        left = self.cast_expression()
        while True:
            token = self.peek()
            precedence = _BINARY.get(token.text) if token.kind == PUNCT else None
            if precedence is None or precedence < level:
                return left
            self.next()
            right = self.binary_expression(precedence + 1)
            left = ast.Binary(token.text, left, right, self.loc(token))

    def cast_expression(self) -> ast.Expr:
        token = self.peek()
        if token.text == "(" and token.kind == PUNCT and self.starts_type(self.peek(1)) \
                and self.peek(1).text != "__extension__":
            self.next()
            type_name = self.type_name()
            self.expect(")")
            if self.at("{"):
                init = self.initializer_list()
                return self.postfix_tail(ast.CompoundLiteral(type_name, init, self.loc(token)))
            self._enter(token)
            operand = self.cast_expression()
            self.depth -= 1
            return ast.Cast(type_name, operand, self.loc(token))
        return self.unary_expression()

    def unary_expression(self) -> ast.Expr:
        token = self.peek()
        text = token.text
        loc = self.loc(token)
        if token.kind == PUNCT:
            if text in ("++", "--"):
                self.next()
                return ast.Unary(text, self.unary_expression(), loc)
            if text in ("-", "+", "!", "~", "*", "&"):
                self.next()
                self._enter(token)
                operand = self.cast_expression()
                self.depth -= 1
                return ast.Unary(text, operand, loc)
            if text == "&&":
                self.next()
                name = self.next()
                return ast.LabelAddress(name.text, loc)
        elif token.kind == IDENT:
            if text == "sizeof" or text in _ALIGNOF:
                self.next()
                op = "sizeof" if text == "sizeof" else "_Alignof"
                if self.at("(") and self.starts_type(self.peek(1)):
                    self.next()
                    type_name = self.type_name()
                    self.expect(")")
                    if self.at("{"):
                        literal = ast.CompoundLiteral(type_name, self.initializer_list(), loc)
                        return ast.Unary(op, self.postfix_tail(literal), loc)
                    return ast.SizeofType(op, type_name, loc)
                return ast.Unary(op, self.unary_expression(), loc)
            if text in ("__extension__", "__real__", "__imag__"):
                self.next()
                operand = self.cast_expression()
                return operand if text == "__extension__" else ast.Unary(text, operand, loc)
        return self.postfix_expression()

    def postfix_expression(self) -> ast.Expr:
        return self.postfix_tail(self.primary_expression())

    def postfix_tail(self, expr: ast.Expr) -> ast.Expr:
        while True:
            token = self.peek()
            if token.kind != PUNCT:
                return expr
            text = token.text
            loc = self.loc(token)
            if text == "[":
                self.next()
                index = self.expression()
                self.expect("]")
                expr = ast.Index(expr, index, loc)
            elif text == "(":
                self.next()
                args = []
                while not self.at(")"):
                    args.append(self.assignment_expression())
                    if not self.accept(","):
                        break
                self.expect(")")
                expr = ast.Call(expr, args, loc)
            elif text in (".", "->"):
                self.next()
                name = self.next()
                if name.kind != IDENT:
                    self.fail("expected identifier", name)
                expr = ast.Member(expr, name.text, text == "->", loc)
            elif text in ("++", "--"):
                self.next()
                expr = ast.Postfix(text, expr, loc)
            else:
                return expr

    def primary_expression(self) -> ast.Expr:
        token = self.peek()
        loc = self.loc(token)
        if token.kind == IDENT:
            if token.text == "__builtin_offsetof":
                return self.offsetof()
            if token.text in _TYPE_BUILTINS:
                return self.type_arg_builtin()
            if token.text == "_Generic":
                return self.generic_selection()
            self.next()
            return ast.Ident(token.text, loc)
        if token.kind == NUMBER:
            self.next()
            return self.number(token)
        if token.kind == CHAR:
            self.next()
            try:
                value = char_value(token.text)
            except (ValueError, IndexError):
                self.fail("empty character constant", token)
            prefix = token.text[: token.text.index("'")]
            return ast.CharLit(value, prefix, loc)
        if token.kind == STRING:
            return self.string_literal()
        if token.text == "(":
            self.next()
            self._enter(token)
            if self.at("{"):
                body = self.compound_statement()
                self.expect(")")
                self.depth -= 1
                return ast.StmtExpr(body, loc)
            expr = self.expression()
            self.expect(")")
            self.depth -= 1
            return expr
        self.fail("expected expression", token)

    def number(self, token: Token) -> ast.Expr:
        text = token.text
        loc = self.loc(token)
        try:
            value, _unsigned = parse_integer(text)
        except OverflowError:
            self.diagnostics.error("integer literal is too large to be represented in any integer type",
                                   token.loc, token.expansion)
            return ast.IntLit(0, "", 10, text, loc)
        except ValueError:
            if _is_float(text):
                return ast.FloatLit(text, loc)
            self.fail(f"invalid integer constant '{text}'", token)
        body = text.replace("'", "").lower()
        digits = body.rstrip("ulz")
        suffix = "".join(sorted(body[len(digits):], key=lambda c: c != "u"))
        if digits.startswith(("0x", "0b")):
            base = 16 if digits[1] == "x" else 2
        else:
            base = 8 if digits.startswith("0") and len(digits) > 1 else 10
        return ast.IntLit(value, suffix, base, text, loc)

    def string_literal(self) -> ast.StringLit:
        token = self.peek()
        if token.kind != STRING:
            self.fail("expected string literal", token)
        data = bytearray()
        prefix = ""
        while self.peek().kind == STRING:
            part = self.next().text
            quote = part.index('"')
            prefix = prefix or part[:quote]
            data += _unescape(part[quote + 1:-1])
        return ast.StringLit(bytes(data), prefix, self.loc(token))

    def offsetof(self) -> ast.Offsetof:
        first = self.next()
        self.expect("(")
        type_name = self.type_name()
        self.expect(",")
        path: list[Union[str, ast.Expr]] = []
        name = self.next()
        if name.kind != IDENT:
            self.fail("expected identifier", name)
        path.append(name.text)
        while True:
            if self.accept("."):
                path.append(self.next().text)
            elif self.accept("["):
                path.append(self.expression())
                self.expect("]")
            else:
                break
        self.expect(")")
        return ast.Offsetof(type_name, path, self.loc(first))

    def type_arg_builtin(self) -> ast.TypeArgBuiltin:
        first = self.next()
        self.expect("(")
        args: list[Union[ast.Expr, ast.TypeName]] = []
        while not self.at(")"):
            args.append(self.type_name() if self.starts_type(self.peek()) else self.assignment_expression())
            if not self.accept(","):
                break
        self.expect(")")
        return ast.TypeArgBuiltin(first.text, args, self.loc(first))

    def generic_selection(self) -> ast.Generic:
        first = self.next()
        self.expect("(")
        control = self.assignment_expression()
        associations: list[tuple[Optional[ast.TypeName], ast.Expr]] = []
        while self.accept(","):
            type_name = None if self.accept("default") else self.type_name()
            self.expect(":")
            associations.append((type_name, self.assignment_expression()))
        self.expect(")")
        return ast.Generic(control, associations, self.loc(first))


def _is_float(text: str) -> bool:
    lowered = text.lower()
    return "p" in lowered if lowered.startswith("0x") else any(c in lowered for c in ".e")


def _unescape(body: str) -> bytes:
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out += char.encode("utf-8", "surrogateescape")
            i += 1
            continue
        escape = body[i + 1:i + 2]
        if escape == "x":
            j = i + 2
            while j < len(body) and body[j] in "0123456789abcdefABCDEF":
                j += 1
            out.append(int(body[i + 2:j] or "0", 16) & 0xFF)
            i = j
        elif escape and escape in "01234567":
            j = i + 1
            while j < len(body) and j < i + 4 and body[j] in "01234567":
                j += 1
            out.append(int(body[i + 1:j], 8) & 0xFF)
            i = j
        else:
            out.append(_ESCAPES.get(escape, ord(escape) if escape else 92))
            i += 2
    return bytes(out)


_STATEMENTS: dict[str, Callable[[Parser, Token], ast.Stmt]] = {
    "if": Parser.if_statement,
    "while": Parser.while_statement,
    "do": Parser.do_statement,
    "for": Parser.for_statement,
    "switch": Parser.switch_statement,
    "case": Parser.case_statement,
    "default": Parser.case_statement,
    "break": Parser.jump_statement,
    "continue": Parser.jump_statement,
    "return": Parser.jump_statement,
    "goto": Parser.jump_statement,
    "asm": Parser.asm_statement,
    "__asm__": Parser.asm_statement,
    "__asm": Parser.asm_statement,
}


def parse(tokens: list[Token], diagnostics: Diagnostics,
          known_type: Optional[Callable[[str], bool]] = None) -> ast.TranslationUnit:
    """The syntax tree of a preprocessed translation unit; raises ``CCError`` when it has errors.

    Each nesting level costs about ten Python frames, so the recursion limit is raised for the parse to
    let the parser's own limit (``MAX_DEPTH``, clang's) be the one users meet."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, MAX_DEPTH * 16 + 1000))
    try:
        unit = Parser(tokens, diagnostics, known_type).translation_unit()
    finally:
        sys.setrecursionlimit(limit)
    diagnostics.check()
    return unit
