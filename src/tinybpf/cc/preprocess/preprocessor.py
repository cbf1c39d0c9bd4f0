"""The C preprocessor: directives, conditional groups, ``#include`` search and macro expansion.

One ``Preprocessor`` reads one translation unit and yields its expanded tokens. Every token keeps where it
was spelled and the chain of macro invocations it came through, so later stages report errors at the
right line with clang's "expanded from macro" notes. ``#pragma`` lines and ``_Pragma`` operators become
``pragma`` tokens in the stream, where the parser finds ``unroll`` and ``clang attribute push``.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Optional

from tinybpf.cc.builtins import ATTRIBUTES, BUILTINS, FEATURES
from tinybpf.cc.diagnostics import Diagnostics, Expansion, Loc, SourceLines
from tinybpf.cc.preprocess.conditions import Evaluator, ExpressionError
from tinybpf.cc.preprocess.lexer import BAD, IDENT, NUMBER, PUNCT, STRING, LexError, Token, spell, tokenize
from tinybpf.cc.preprocess.macros import Builtin, Macro, Substitution, finish
from tinybpf.cc.preprocess.predefined import Target, predefined_source

PRAGMA = "pragma"
MAX_INCLUDE_DEPTH = 200
BUILTIN_FILE = "<built-in>"
COMMAND_LINE = "<command line>"


@dataclass
class Options:
    """What the command line says about preprocessing (``-I``, ``-iquote``, ``-isystem``, ``-D``, ``-U``)."""

    include_dirs: list[str] = field(default_factory=list)
    quote_dirs: list[str] = field(default_factory=list)
    system_dirs: list[str] = field(default_factory=list)
    defines: list[tuple[str, str]] = field(default_factory=list)
    undefines: list[str] = field(default_factory=list)
    target: Target = field(default_factory=Target)
    virtual_headers: dict[str, str] = field(default_factory=dict)  # name -> text, found before any file
    fallback_header: Optional[Callable[[str], Optional[str]]] = None  # text for a name no file has


@dataclass
class _Frame:
    """A file being read: its tokens, where reading is, and how ``#line`` renumbered it."""

    tokens: list[Token]
    path: str
    directory: str
    search_index: int  # position in the search path where it was found, for #include_next
    conditionals: int  # depth of the conditional stack when it was entered
    pos: int = 0
    line_delta: int = 0
    file_name: Optional[str] = None


@dataclass
class _Conditional:
    loc: Loc
    parent_active: bool
    active: bool
    taken: bool
    else_seen: bool = False


class Preprocessor:
    def __init__(self, options: Options, diagnostics: Diagnostics) -> None:
        self.options = options
        self.diagnostics = diagnostics
        self.sources: SourceLines = diagnostics.sources
        self.macros: dict[str, Macro] = {}
        self.pushed_macros: dict[str, list[Optional[Macro]]] = {}
        self.frames: list[_Frame] = []
        self.pending: list[Token] = []  # tokens to read next, last first
        self.conditionals: list[_Conditional] = []
        self.once: set[str] = set()
        self.counter = 0
        self.base_file = ""
        self._define_builtins()

    # ----- entry points

    def run(self, text: str, path: str) -> Iterator[Token]:
        """The expanded tokens of the translation unit ``text`` (named ``path``)."""
        self.base_file = path
        self._read_predefines()
        self._push_text(text, path, os.path.dirname(path) or ".", -1)
        while True:
            token = self._next_expanded()
            if token is None:
                return
            yield token

    def _read_predefines(self) -> None:
        lines = [predefined_source(self.options.target)]
        for name, value in self.options.defines:
            lines.append(f"#define {name} {value}\n")
        for name in self.options.undefines:
            lines.append(f"#undef {name}\n")
        self._push_text("".join(lines), BUILTIN_FILE, ".", -1)
        for _ in iter(self._next_expanded, None):
            pass

    # ----- reading tokens

    def _push_text(
        self, text: str, path: str, directory: str, search_index: int, included_from: Optional[Loc] = None
    ) -> None:
        self.sources.add(path, text, included_from)
        try:
            tokens = tokenize(text, path)
        except LexError as exc:
            self.diagnostics.error(str(exc), exc.loc)
            tokens = []
        self.frames.append(_Frame(tokens, path, directory, search_index, len(self.conditionals)))

    def _skipping(self) -> bool:
        return bool(self.conditionals) and not self.conditionals[-1].active

    def _next_raw(self) -> Optional[Token]:
        """The next unexpanded token, directives carried out on the way."""
        while True:
            if self.pending:
                return self.pending.pop()
            if not self.frames:
                return None
            frame = self.frames[-1]
            if frame.pos >= len(frame.tokens):
                self._end_of_file(frame)
                continue
            token = frame.tokens[frame.pos]
            frame.pos += 1
            if token.bol and token.text == "#" and token.kind == PUNCT:
                self._directive(frame, token)
                continue
            if self._skipping():
                continue
            if frame.line_delta or frame.file_name:
                token = token.copy(loc=Loc(frame.file_name or token.loc.file, token.loc.line + frame.line_delta,
                                           token.loc.column))
            return token

    def _end_of_file(self, frame: _Frame) -> None:
        while len(self.conditionals) > frame.conditionals:
            self.diagnostics.error("unterminated conditional directive", self.conditionals.pop().loc)
        self.frames.pop()

    def _next_expanded(self) -> Optional[Token]:
        while True:
            token = self._next_raw()
            if token is None:
                return None
            if token.kind == IDENT:
                if token.text == "_Pragma" and "_Pragma" not in self.macros:
                    pragma = self._pragma_operator(token, self._next_expanded)
                    if pragma is not None:
                        return pragma
                    continue
                if self._try_expand(token, self._next_raw, self._push_pending):
                    continue
            elif token.kind == BAD:
                quote = '"' if '"' in token.text.split("'")[0] else "'"
                self.diagnostics.error(f"missing terminating {quote} character", token.loc, token.expansion)
                continue
            return token

    def _push_pending(self, tokens: list[Token]) -> None:
        self.pending.extend(reversed(tokens))

    def expand_list(self, tokens: list[Token], in_if: bool = False) -> list[Token]:
        """Macro-expand a list of tokens on its own (an argument, a directive line): invocations cannot
        read past its end. In ``#if`` lines ``defined X`` becomes 1 or 0 wherever it appears."""
        stack = list(reversed(tokens))
        out: list[Token] = []

        def take() -> Optional[Token]:
            return stack.pop() if stack else None

        def push(more: list[Token]) -> None:
            stack.extend(reversed(more))

        while stack:
            token = stack.pop()
            if token.kind == IDENT:
                if in_if and token.text == "defined":
                    out.append(self._defined(token, take))
                    continue
                if self._try_expand(token, take, push):
                    continue
            out.append(token)
        return out

    # ----- macro invocations

    def _try_expand(
        self,
        token: Token,
        take: Callable[[], Optional[Token]],
        push: Callable[[list[Token]], None],
    ) -> bool:
        """Expand ``token`` if it names a macro it may expand: push the replacement and return True."""
        name = token.text
        macro = self.macros.get(name)
        if macro is None or name in token.hide:
            return False
        expansion = Expansion(name, token.loc, token.expansion)
        if not macro.function_like:
            if macro.builtin is not None:
                body = macro.builtin(token, None)
            else:
                body = Substitution(macro, None, self.expand_list, self.diagnostics, expansion).run(macro.body)
            push(finish(body, token.hide | {name}, token.space))
            return True
        following = take()
        if following is None or following.text != "(":
            if following is not None:
                push([following])
            return False
        collected = self._collect_args(token, macro, take)
        if collected is None:
            return True
        args, close = collected
        if macro.builtin is not None:
            push(finish(macro.builtin(token, args[0] if args else []), token.hide | {name}, token.space))
            return True
        if not self._check_arity(token, macro, args, close):
            return True
        body = Substitution(macro, args, self.expand_list, self.diagnostics, expansion).run(macro.body)
        push(finish(body, (token.hide & close.hide) | {name}, token.space))
        return True

    def _collect_args(
        self, token: Token, macro: Macro, take: Callable[[], Optional[Token]]
    ) -> Optional[tuple[list[list[Token]], Token]]:
        """The arguments of an invocation up to its ``)``; commas inside parentheses, and commas of the
        variable part of a variadic macro, stay inside an argument."""
        params = len(macro.params or ())
        args: list[list[Token]] = [[]]
        depth = 0
        while True:
            arg_token = take()
            if arg_token is None:
                self.diagnostics.error("unterminated function-like macro invocation", token.loc, token.expansion)
                return None
            text = arg_token.text
            if arg_token.kind == PUNCT:
                if text == "(":
                    depth += 1
                elif text == ")":
                    if depth == 0:
                        return args, arg_token
                    depth -= 1
                elif text == "," and depth == 0 and not (macro.variadic and len(args) >= params):
                    args.append([])
                    continue
            args[-1].append(arg_token)

    def _check_arity(self, token: Token, macro: Macro, args: list[list[Token]], close: Token) -> bool:
        params = len(macro.params or ())
        if macro.variadic and len(args) == params - 1:
            args.append([])  # f(a) for f(a, ...): the variable part is empty (C23, GNU)
        if params == 0 and len(args) == 1 and not args[0]:
            args.clear()
        if len(args) == params:
            return True
        many = len(args) > params
        where = close
        if many:
            where = args[params][0] if args[params] else close
        notes = ((f"macro '{macro.name}' defined here", macro.loc),) if macro.loc else ()
        self.diagnostics.error(
            f"too {'many' if many else 'few'} arguments provided to function-like macro invocation",
            where.loc,
            where.expansion,
            notes,
        )
        return False

    def _pragma_operator(self, token: Token, take: Callable[[], Optional[Token]]) -> Optional[Token]:
        """``_Pragma("text")`` -> a pragma token (C11 6.10.9)."""
        parts = [take(), take(), take()]
        if (
            parts[0] is None or parts[0].text != "("
            or parts[1] is None or parts[1].kind != STRING
            or parts[2] is None or parts[2].text != ")"
        ):
            self.diagnostics.error("_Pragma takes a parenthesized string literal", token.loc, token.expansion)
            return None
        literal = parts[1].text
        body = literal[literal.index('"') + 1:-1].replace('\\"', '"').replace("\\\\", "\\")
        return Token(PRAGMA, body.strip(), token.loc, token.space, True, expansion=token.expansion)

    def _defined(self, token: Token, take: Callable[[], Optional[Token]]) -> Token:
        operand = take()
        parenthesized = operand is not None and operand.text == "("
        if parenthesized:
            operand = take()
        if operand is None or operand.kind != IDENT:
            self.diagnostics.error("macro name must be an identifier", (operand or token).loc)
            return Token(NUMBER, "0", token.loc)
        if parenthesized:
            close = take()
            if close is None or close.text != ")":
                self.diagnostics.error("missing ')' after 'defined'", (close or operand).loc)
        return Token(NUMBER, "1" if operand.text in self.macros else "0", token.loc)

    # ----- directives

    def _line(self, frame: _Frame) -> list[Token]:
        """The rest of the directive line."""
        tokens = frame.tokens
        start = frame.pos
        end = start
        while end < len(tokens) and not tokens[end].bol:
            end += 1
        frame.pos = end
        return tokens[start:end]

    def _directive(self, frame: _Frame, hash_token: Token) -> None:
        line = self._line(frame)
        if not line:
            return
        name = line[0].text
        conditional = _CONDITIONAL_DIRECTIVES.get(name)
        if conditional is not None:
            conditional(self, line)
            return
        if self._skipping():
            return
        if line[0].kind == NUMBER:  # GNU line marker: # 12 "file.c"
            self._line_directive(frame, line, 0)
            return
        handler = _DIRECTIVES.get(name)
        if handler is None:
            self.diagnostics.error("invalid preprocessing directive", line[0].loc)
            return
        handler(self, frame, line)

    def _if(self, line: list[Token]) -> None:
        parent = not self._skipping()
        value = parent and self._evaluate(line)
        self.conditionals.append(_Conditional(line[0].loc, parent, value, value or not parent))

    def _ifdef(self, line: list[Token]) -> None:
        parent = not self._skipping()
        value = parent and self._macro_name(line) in self.macros
        if line[0].text == "ifndef":
            value = parent and not value
        self.conditionals.append(_Conditional(line[0].loc, parent, value, value or not parent))

    def _elif(self, line: list[Token]) -> None:
        if not self.conditionals:
            self.diagnostics.error(f"#{line[0].text} without #if", line[0].loc)
            return
        cond = self.conditionals[-1]
        if cond.else_seen:
            self.diagnostics.error(f"#{line[0].text} after #else", line[0].loc)
        if cond.taken or not cond.parent_active:
            cond.active = False
            return
        if line[0].text == "elif":
            value = self._evaluate(line)
        else:
            value = (self._macro_name(line) in self.macros) == (line[0].text == "elifdef")
        cond.active = cond.taken = value

    def _else(self, line: list[Token]) -> None:
        if not self.conditionals:
            self.diagnostics.error("#else without #if", line[0].loc)
            return
        cond = self.conditionals[-1]
        if cond.else_seen:
            self.diagnostics.error("#else after #else", line[0].loc)
        cond.else_seen = True
        cond.active = cond.parent_active and not cond.taken
        cond.taken = True

    def _endif(self, line: list[Token]) -> None:
        frame_floor = self.frames[-1].conditionals if self.frames else 0
        if len(self.conditionals) <= frame_floor:
            self.diagnostics.error("#endif without #if", line[0].loc)
            return
        self.conditionals.pop()

    def _macro_name(self, line: list[Token]) -> str:
        if len(line) < 2 or line[1].kind != IDENT:
            self.diagnostics.error("macro name missing" if len(line) < 2 else "macro name must be an identifier",
                                   (line[1] if len(line) > 1 else line[0]).loc)
            return ""
        return line[1].text

    def _evaluate(self, line: list[Token]) -> bool:
        tokens = self.expand_list(line[1:], in_if=True)
        try:
            return Evaluator(tokens, self.diagnostics).evaluate()
        except ExpressionError as exc:
            where = exc.token or (line[-1] if len(line) > 1 else line[0])
            self.diagnostics.error(str(exc), where.loc, where.expansion)
            return False

    def _define(self, frame: _Frame, line: list[Token]) -> None:
        name = self._macro_name(line)
        if not name:
            return
        if name == "defined":
            self.diagnostics.error("'defined' cannot be used as a macro name", line[1].loc)
            return
        body = line[2:]
        params: Optional[list[str]] = None
        variadic = False
        if body and body[0].text == "(" and not body[0].space:
            parsed = self._parameters(body)
            if parsed is None:
                return
            params, variadic, used = parsed
            body = body[used:]
        if body:
            body = [body[0].copy(space=False, bol=False), *body[1:]]
        macro = Macro(name, body, params, variadic, line[1].loc)
        if not self._check_body(macro):
            return
        old = self.macros.get(name)
        virtual = old is not None and old.loc is not None and old.loc.file.startswith("<virtual>/")
        if old is not None and old.builtin is None and not old.same_as(macro) and frame.path != BUILTIN_FILE \
                and not virtual:  # tinybpf's virtual headers define more than the real ones: no warning
            self.diagnostics.warning(f"'{name}' macro redefined", line[1].loc)
        self.macros[name] = macro

    def _parameters(self, body: list[Token]) -> Optional[tuple[list[str], bool, int]]:
        """``(a, b, ...)`` after a macro name: parameter names, variadic, tokens used."""
        params: list[str] = []
        i = 1
        while i < len(body):
            token = body[i]
            if token.text == ")" and not params:
                return params, False, i + 1
            if token.text == "...":
                params.append("__VA_ARGS__")
                if i + 1 < len(body) and body[i + 1].text == ")":
                    return params, True, i + 2
                break
            if token.kind != IDENT:
                break
            if token.text in params:
                self.diagnostics.error(f"duplicate macro parameter name '{token.text}'", token.loc)
                return None
            params.append(token.text)
            following = body[i + 1] if i + 1 < len(body) else None
            if following is not None and following.text == "...":
                closing = body[i + 2] if i + 2 < len(body) else None
                if closing is not None and closing.text == ")":
                    return params, True, i + 3
                break
            if following is not None and following.text == ")":
                return params, False, i + 2
            if following is None or following.text != ",":
                break
            i += 2
        where = body[min(i, len(body) - 1)]
        self.diagnostics.error("expected comma in macro parameter list" if where.kind == IDENT
                               else "invalid token in macro parameter list", where.loc)
        return None

    def _check_body(self, macro: Macro) -> bool:
        body = macro.body
        if body and (body[0].text == "##" or body[-1].text == "##") and body[0].kind == PUNCT:
            where = body[0] if body[0].text == "##" else body[-1]
            self.diagnostics.error("'##' cannot appear at either end of macro expansion", where.loc)
            return False
        if macro.function_like:
            params = set(macro.params or ())
            for i, token in enumerate(body):
                if token.text == "#" and token.kind == PUNCT:
                    following = body[i + 1] if i + 1 < len(body) else None
                    if following is None or following.text not in params:
                        self.diagnostics.error("'#' is not followed by a macro parameter", token.loc)
                        return False
        return True

    def _undef(self, frame: _Frame, line: list[Token]) -> None:
        name = self._macro_name(line)
        if name:
            self.macros.pop(name, None)

    def _include(self, frame: _Frame, line: list[Token]) -> None:
        kind = line[0].text
        found = self._header_name(line[1:], line[0])
        if found is None:
            return
        name, angled, where = found
        if len(self.frames) > MAX_INCLUDE_DEPTH:
            raise self.diagnostics.fatal("#include nested too deeply", where.loc)
        virtual = self.options.virtual_headers.get(name)
        if virtual is not None:
            path = f"<virtual>/{name}"
            if path not in self.once:
                self.once.add(path)
                self._push_text(virtual, path, ".", -1, line[0].loc)
            return
        start = frame.search_index + 1 if kind == "include_next" else 0
        resolved = self._find_header(name, angled, frame, start, kind == "include_next")
        if resolved is None:
            fallback = self.options.fallback_header(name) if self.options.fallback_header else None
            if fallback is None:
                raise self.diagnostics.fatal(f"'{name}' file not found", where.loc, where.expansion)
            self._push_text(fallback, f"<virtual>/{name}", ".", -1, line[0].loc)
            return
        path, index = resolved
        real = os.path.realpath(path)
        if real in self.once:
            return
        if kind == "import":
            self.once.add(real)
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as f:
                text = f.read()
        except OSError as exc:
            raise self.diagnostics.fatal(f"cannot open '{name}': {exc.strerror}", where.loc) from None
        self._push_text(text, path, os.path.dirname(path) or ".", index, line[0].loc)

    def _header_name(self, tokens: list[Token], directive: Token) -> Optional[tuple[str, bool, Token]]:
        """The header of ``#include "x.h"``, ``#include <x.h>`` or of a macro expanding to either."""
        if tokens and tokens[0].kind != STRING and tokens[0].text != "<":
            tokens = self.expand_list(tokens)
        if not tokens:
            self.diagnostics.error("expected \"FILENAME\" or <FILENAME>", directive.loc)
            return None
        first = tokens[0]
        if first.kind == STRING and first.text.startswith('"'):
            return first.text[1:-1], False, first
        if first.text == "<":
            for i in range(1, len(tokens)):
                if tokens[i].text == ">":
                    return spell(tokens[1:i]), True, first
        self.diagnostics.error("expected \"FILENAME\" or <FILENAME>", first.loc)
        return None

    def _search_path(self, angled: bool) -> list[str]:
        quoted = [] if angled else self.options.quote_dirs
        return [*quoted, *self.options.include_dirs, *self.options.system_dirs]

    def _find_header(
        self, name: str, angled: bool, frame: _Frame, start: int, include_next: bool
    ) -> Optional[tuple[str, int]]:
        if os.path.isabs(name):
            return (name, -1) if os.path.isfile(name) else None
        if not angled and not include_next:
            candidate = os.path.join(frame.directory, name)
            if os.path.isfile(candidate):
                return candidate, frame.search_index
        for index, directory in enumerate(self._search_path(angled)):
            if index < start:
                continue
            candidate = os.path.join(directory, name)
            if os.path.isfile(candidate):
                return candidate, index
        return None

    def _line_directive(self, frame: _Frame, line: list[Token], first: int) -> None:
        tokens = self.expand_list(line[first:])
        if not tokens or tokens[0].kind != NUMBER or not tokens[0].text.isdigit():
            self.diagnostics.error("#line directive requires a simple digit sequence", line[0].loc)
            return
        next_physical = line[-1].loc.line + 1
        frame.line_delta = int(tokens[0].text) - next_physical
        if len(tokens) > 1 and tokens[1].kind == STRING:
            frame.file_name = tokens[1].text[1:-1]

    def _line_cmd(self, frame: _Frame, line: list[Token]) -> None:
        self._line_directive(frame, line, 1)

    def _error(self, frame: _Frame, line: list[Token]) -> None:
        message = spell(line[1:])
        if line[0].text == "error":
            self.diagnostics.error(message, line[0].loc)
        else:
            self.diagnostics.warning(message, line[0].loc)

    def _pragma(self, frame: _Frame, line: list[Token]) -> None:
        words = [t.text for t in line[1:]]
        if words == ["once"]:
            self.once.add(os.path.realpath(frame.path))
            return
        if len(words) >= 4 and words[0] in ("push_macro", "pop_macro") and line[3].kind == STRING:
            self._push_pop_macro(words[0], line[3].text[1:-1])
            return
        self._push_pending([Token(PRAGMA, spell(line[1:]), line[0].loc, True, True)])

    def _push_pop_macro(self, what: str, name: str) -> None:
        saved = self.pushed_macros.setdefault(name, [])
        if what == "push_macro":
            saved.append(self.macros.get(name))
        elif saved:
            macro = saved.pop()
            if macro is None:
                self.macros.pop(name, None)
            else:
                self.macros[name] = macro

    # ----- builtin macros

    def _define_builtins(self) -> None:
        stamp = time.gmtime(int(os.environ.get("SOURCE_DATE_EPOCH", time.time())))

        def constant(text: Callable[[Token], str], kind: str = NUMBER) -> Builtin:
            return lambda token, _args: [Token(kind, text(token), token.loc)]

        objects: dict[str, Builtin] = {
            "__FILE__": constant(lambda t: _quote(_root(t).file), STRING),
            "__LINE__": constant(lambda t: str(_root(t).line)),
            "__COUNTER__": constant(lambda t: str(self._count())),
            "__BASE_FILE__": constant(lambda t: _quote(self.base_file), STRING),
            "__INCLUDE_LEVEL__": constant(lambda t: str(max(len(self.frames) - 1, 0))),
            "__DATE__": constant(lambda t: time.strftime('"%b %e %Y"', stamp), STRING),
            "__TIME__": constant(lambda t: time.strftime('"%H:%M:%S"', stamp), STRING),
        }
        for name, compute in objects.items():
            self.macros[name] = Macro(name, [], builtin=compute)
        tests: dict[str, Callable[[str], bool]] = {
            "__has_builtin": BUILTINS.__contains__,
            "__has_attribute": lambda n: n.strip("_") in ATTRIBUTES,
            "__has_c_attribute": lambda n: n.strip("_") in ATTRIBUTES,
            "__has_declspec_attribute": lambda n: False,
            "__has_cpp_attribute": lambda n: False,
            "__has_feature": FEATURES.__contains__,
            "__has_extension": FEATURES.__contains__,
            "__has_warning": lambda n: False,
            "__is_identifier": lambda n: n not in BUILTINS,
        }
        for name, test in tests.items():
            self.macros[name] = Macro(name, [], params=["x"], builtin=self._feature_test(name, test))
        for name in ("__has_include", "__has_include_next"):
            self.macros[name] = Macro(name, [], params=["x"], builtin=self._has_include)

    def _count(self) -> int:
        self.counter += 1
        return self.counter - 1

    def _feature_test(self, name: str, test: Callable[[str], bool]) -> Builtin:
        def run(token: Token, arg: Optional[list[Token]]) -> list[Token]:
            if not arg:
                self.diagnostics.error(f"missing '(' after '{name}'", token.loc, token.expansion)
                return [Token(NUMBER, "0", token.loc)]
            word = "".join(t.text for t in arg)
            if word.startswith(("clang::", "gnu::")):
                word = word.split("::", 1)[1]
            return [Token(NUMBER, "1" if test(word) else "0", token.loc)]

        return run

    def _has_include(self, token: Token, arg: Optional[list[Token]]) -> list[Token]:
        found = self._header_name(arg, token) if arg else None
        if found is None:
            if not arg:
                self.diagnostics.error(f"missing '(' after '{token.text}'", token.loc, token.expansion)
            return [Token(NUMBER, "0", token.loc)]
        name, angled, _where = found
        frame = self.frames[-1]
        include_next = token.text == "__has_include_next"
        start = frame.search_index + 1 if include_next else 0
        present = name in self.options.virtual_headers or self._find_header(
            name, angled, frame, start, include_next) is not None
        return [Token(NUMBER, "1" if present else "0", token.loc)]


def _root(token: Token) -> Loc:
    expansion = token.expansion
    if expansion is None:
        return token.loc
    while expansion.parent is not None:
        expansion = expansion.parent
    return expansion.loc


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


_CONDITIONAL_DIRECTIVES: dict[str, Callable[[Preprocessor, list[Token]], None]] = {
    "if": Preprocessor._if,
    "ifdef": Preprocessor._ifdef,
    "ifndef": Preprocessor._ifdef,
    "elif": Preprocessor._elif,
    "elifdef": Preprocessor._elif,
    "elifndef": Preprocessor._elif,
    "else": Preprocessor._else,
    "endif": Preprocessor._endif,
}

_DIRECTIVES: dict[str, Callable[[Preprocessor, _Frame, list[Token]], None]] = {
    "define": Preprocessor._define,
    "undef": Preprocessor._undef,
    "include": Preprocessor._include,
    "include_next": Preprocessor._include,
    "import": Preprocessor._include,
    "line": Preprocessor._line_cmd,
    "error": Preprocessor._error,
    "warning": Preprocessor._error,
    "pragma": Preprocessor._pragma,
    "ident": lambda self, frame, line: None,
    "sccs": lambda self, frame, line: None,
}
