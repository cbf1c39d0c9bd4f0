"""Semantic analysis: the type of every expression, the key and value types of every map, and the errors
bpftrace reports before it generates any code.

Like bpftrace's ``SemanticAnalyser`` this pass walks the AST more than once: a map may be read (``END {
print(@x) }``) before the probe that assigns it, so the walk repeats until the map types stop changing and
only the last walk reports errors. Messages and locations follow bpftrace's wording for common mistakes.

Types are small frozen values (``SType``); ``tinybpf.trace.runtime.session`` turns them into the printers' types.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Callable, Optional

from tinybpf.backend.scratch import SCRATCH_LIMIT
from tinybpf.trace.semantics.analysis import Analysis, MapInfo, ProbeContext
from tinybpf.trace.semantics.stype import (
    AGGREGATES,
    BOOL,
    CTX,
    INT64,
    NONE,
    UINT32,
    UINT64,
    SType,
    compared_as_bytes,
    int_type,
    string_type,
    strlen,
    tuple_type,
)
from tinybpf.trace.syntax import ast
from tinybpf.trace.syntax.diagnostics import Diagnostic, TraceError

_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")

FieldResolver = Callable[[str, str], Mapping[str, tuple[SType, int]]]
"""(category, name) -> field name -> (type, offset): the fields of a tracepoint's record."""

_INT_BUILTINS = {
    "pid": UINT64, "tid": UINT64, "uid": UINT64, "gid": UINT64, "nsecs": UINT64, "elapsed": UINT64,
    "cpu": UINT64, "rand": UINT32, "cgroup": UINT64, "curtask": UINT64, "cpid": UINT64, "numaid": UINT32,
    "jiffies": UINT64, "pid_curr_ns": UINT64, "tid_curr_ns": UINT64,
    "pid_init": UINT64, "tid_init": UINT64,
}
_ARG_PROVIDERS = ("kprobe", "uprobe", "usdt", "rawtracepoint")
_RET_PROVIDERS = ("kretprobe", "uretprobe")
_UNSUPPORTED_CALLS = (
    "kstack", "ustack", "ksym", "usym", "kaddr", "uaddr", "ntop", "pton", "buf", "cat", "system", "signal",
    "override", "cgroupid", "macaddr", "strftime", "path", "skboutput", "unwatch", "strcontains",
    "percpu_kaddr", "bswap", "kptr", "uptr", "has_key", "len", "offsetof",
)
_KNOWN_CALLS = (
    "printf", "print", "time", "str", "strncmp", "exit", "clear", "zero", "delete", "sizeof", "join",
    *AGGREGATES,
)


class SemanticAnalyser:
    """One analysis of one parsed program (bpftrace's ``SemanticAnalyser``)."""

    def __init__(self, program: ast.Program, source: str, filename: str = "stdin",
                 fields: Optional[FieldResolver] = None,
                 has_child: bool = False, probe_names: Optional[dict[int, list[str]]] = None) -> None:
        self.program = program
        self.probe_names = probe_names or {}
        self.has_child = has_child
        self.source = source
        self.filename = filename
        self.result = Analysis(program, string_size=strlen(), source=source, filename=filename)
        self.fields = fields
        self.final = False
        self.errors: list[Diagnostic] = []
        self.vars: dict[str, SType] = {}
        self.declared: set[str] = set()
        self.probe: Optional[ast.Probe] = None
        self.provider = ""
        self.context = ProbeContext("")
        self.used: set = set()
        self.loop_depth = 0

    # ----------------------------------------------------------------- driver

    def analyse(self) -> Analysis:
        _scope_loop_variables(self.program)
        for probe in self.program.probes:
            self.result.contexts[id(probe)] = self.probe_context(probe)
        if self.errors:
            raise TraceError(self.errors[:1], self.source, self.filename)
        for _ in range(4):
            before = self.map_signature()
            self.walk()
            if self.map_signature() == before:
                break
        self.final = True
        self.walk()
        if self.errors:
            raise TraceError(self.errors[:1], self.source, self.filename)
        return self.result

    def map_signature(self) -> tuple:
        return tuple((m.name, m.key, m.value) for m in self.result.maps.values())

    def walk(self) -> None:
        for probe in self.program.probes:
            self.probe = probe
            self.context = self.result.contexts[id(probe)]
            self.provider = self.context.provider
            self.vars = {}
            self.declared = set()
            self.used = set()
            if probe.predicate is not None:
                cond = self.expr(probe.predicate.expr)
                if self.final and not cond.is_int and cond.kind != "none":
                    self.error("Invalid type for predicate: " + str(cond), probe.predicate.expr.pos)
            self.block(probe.block)
            self.result.variables[id(probe)] = dict(self.vars)
            self.result.uses[id(probe)] = set(self.used)

    def error(self, message: str, pos: ast.Pos) -> None:
        if self.final and not self.errors:
            self.errors.append(Diagnostic(message, pos))

    def set(self, node: ast.Node, t: SType) -> SType:
        self.result.types[id(node)] = t
        return t

    # ----------------------------------------------------------------- probes

    def probe_context(self, probe: ast.Probe) -> ProbeContext:
        provider = probe.attach_points[0].provider
        context = ProbeContext(provider)
        if provider == "tracepoint" and self.fields is not None:
            ap = probe.attach_points[0]
            try:
                fields = self.fields(ap.target, ap.func)
            except LookupError as exc:
                self.errors.append(Diagnostic(str(exc.args[0]) if exc.args else str(exc), ap.pos))
                return context
            context.tracepoint_fields = fields
            if ap.target == "syscalls":  # as bpftrace: syscall arguments point to user memory
                context.tracepoint_space = "user"
            context.tracepoint_name = f"{ap.target}_{ap.func}".replace("*", "")
        return context

    # ----------------------------------------------------------------- statements

    def block(self, block: ast.Block) -> None:
        for stmt in block.statements:
            self.statement(stmt)

    def statement(self, stmt: ast.Statement) -> None:
        if isinstance(stmt, ast.ExprStatement):
            self.expr(stmt.expr, statement=True)
        elif isinstance(stmt, ast.AssignMapStatement):
            self.assign_map(stmt)
        elif isinstance(stmt, ast.AssignVarStatement):
            self.assign_var(stmt)
        elif isinstance(stmt, ast.If):
            cond = self.expr(stmt.cond)
            if self.final and not cond.is_int and cond.kind != "none":
                self.error(f"Invalid condition in if(): {cond}", stmt.cond.pos)
            self.block(stmt.then)
            if stmt.otherwise is not None:
                self.block(stmt.otherwise)
        elif isinstance(stmt, ast.Unroll):
            self.unroll(stmt)
        elif isinstance(stmt, ast.While):
            self.expr(stmt.cond)
            self.loop_depth += 1
            self.block(stmt.body)
            self.loop_depth -= 1
        elif isinstance(stmt, ast.Jump):
            self.jump(stmt)
        elif isinstance(stmt, ast.For):
            self.for_loop(stmt)
        elif isinstance(stmt, ast.VarDeclStatement):
            self.declare(stmt)
        else:
            self.error("this statement is not supported by tinybpf trace yet", stmt.pos)

    def map_loop(self, stmt: ast.For, target: ast.Map) -> None:
        """``for ($kv : @map)``: ``$kv`` is the tuple ``(key, value)`` of each element."""
        info = self.result.maps.get(target.name)
        if info is None:
            self.error(f"Undefined map: {target.name}", target.pos)
        elif info.key is not None and info.value is not None and info.key.kind != "none":
            value = info.value
            if value.is_aggregate:
                if value.kind not in ("count", "sum", "min", "max"):
                    self.error(f"Loop over map '{target.name}' of '{value}' values is not supported", target.pos)
                value = SType("int", 8, value.signed)
            kv = tuple_type([info.key, _value_type(value)])
            self.vars[stmt.var.name] = kv
            self.set(stmt.var, kv)
        elif info.key is not None and info.key.kind == "none":
            self.error("Maps used as for-loop iterables must have keys", target.pos)
        self.set(target, NONE)
        self.loop_depth += 1
        self.block(stmt.body)
        self.loop_depth -= 1

    def declare(self, stmt: ast.VarDeclStatement) -> None:
        """``let $x[: type]``: a typed declaration fixes the type; an untyped one waits for an assignment."""
        if stmt.type is None:
            self.declared.add(stmt.var.name)
            return
        from tinybpf.trace.semantics import memory as sema_memory

        of = stmt.type.of
        t: Optional[SType]
        if isinstance(of, ast.Identifier) and self.ctypes().named_type(of.name) is not None:
            t = self.ctypes().named_type(of.name)  # typeof(size_t)
        else:
            t = self.expr(of) if of is not None else sema_memory.named_type(self, stmt.type)
        if t is None:
            self.error(f"Unknown type: {stmt.type}", stmt.type.pos)
            return
        if self.provider in sema_memory.USER_PROVIDERS:  # a declared pointer reads user memory there
            t = sema_memory.with_space(t, "user")
        self.vars[stmt.var.name] = _value_type(t)
        self.set(stmt.var, self.vars[stmt.var.name])

    def for_loop(self, stmt: ast.For) -> None:
        """``for ($i : start..end)``: ``$i`` is an int64 counting from start up to (not including) end."""
        if isinstance(stmt.iterable, ast.Map) and not stmt.iterable.keys:
            self.map_loop(stmt, stmt.iterable)
            return
        if not isinstance(stmt.iterable, ast.Range):
            self.expr(stmt.iterable)
            self.error("for loops can only iterate over a map or a range", stmt.iterable.pos)
            return
        for bound in (stmt.iterable.start, stmt.iterable.end):
            t = self.expr(bound)
            if not t.is_int and t.kind != "none":
                self.error(f"Loop range requires an integer for the {'start' if bound is stmt.iterable.start else 'end'}"
                           f" value", bound.pos)
        self.vars[stmt.var.name] = INT64
        self.set(stmt.var, INT64)
        self.loop_depth += 1
        self.block(stmt.body)
        self.loop_depth -= 1

    def unroll(self, stmt: ast.Unroll) -> None:
        count = stmt.count
        value = self.const_int(count)
        if value is None:
            self.error("unroll count must be a constant integer", count.pos)
        elif value > 100:
            self.error("unroll maximum value is 100", count.pos)
        elif value < 1:
            self.error("unroll minimum value is 1", count.pos)
        self.block(stmt.body)

    def jump(self, stmt: ast.Jump) -> None:
        if stmt.kind in ("break", "continue") and not self.loop_depth:
            self.error(f"{stmt.kind} statement is not allowed outside of a loop", stmt.pos)
        if stmt.value is not None:
            self.expr(stmt.value)

    def const_int(self, expr: ast.Expression) -> Optional[int]:
        if isinstance(expr, ast.Integer):
            return expr.value
        if isinstance(expr, ast.Unop) and expr.op == "-":
            inner = self.const_int(expr.operand)
            return None if inner is None else -inner
        return None

    def assign_map(self, stmt: ast.AssignMapStatement) -> None:
        target = stmt.map
        value = self.expr(stmt.expr)
        if value.kind == "none" and self.final and not isinstance(stmt.expr, ast.Call):
            self.error("Invalid expression for assignment: " + str(value), stmt.expr.pos)
        elif value.kind == "ctx":
            self.error("context cannot be assigned to a map", stmt.pos)
        self.map_keys(target)
        if isinstance(stmt.expr, ast.Call) and stmt.expr.name in AGGREGATES:
            return  # the aggregation call recorded the map's type
        self.map_value(target, value, target.pos)
        self.set(target, _value_type(value))

    def map_value(self, target: ast.Map, value: SType, pos: ast.Pos) -> None:
        value = _value_type(value)
        info = self.result.maps.setdefault(target.name, MapInfo(target.name, pos=target.pos))
        if value.kind == "none":
            return
        if info.value is None or info.value.kind == "none":
            info.value = value
            return
        old = info.value
        if old.kind != value.kind or (old.kind == "tuple" and len(old.elements) != len(value.elements)):
            self.error(f"Type mismatch for {target.name}: trying to assign value of type '{value}' "
                       f"when map already contains a value of type '{old}'", pos)
        elif old.kind == "string" and value.size > old.size:
            info.value = value
        elif old.kind == "tuple" and value != old:
            info.value = _widen_tuple(old, value)
        elif old.kind == "int" and old.enumerators != value.enumerators:
            info.value = replace(old, tag="", enumerators=())  # enum and plain values mixed: numbers

    def map_keys(self, target: ast.Map) -> SType:
        keys = [self.expr(k) for k in target.keys]
        for node, t in zip(target.keys, keys):
            if t.is_aggregate or t.kind in ("none", "ctx"):
                self.error(f"Invalid map key type: {t}", node.pos)
        keys = [_value_type(k) for k in keys]
        if not keys:
            key = NONE
        elif len(keys) == 1:
            key = keys[0]
        else:
            key = tuple_type(keys)
        info = self.result.maps.setdefault(target.name, MapInfo(target.name, pos=target.pos))
        if info.key is None:
            info.key = key
        elif not _key_compatible(info.key, key):
            self.error(f"Argument mismatch for {target.name}: trying to access with arguments: "
                       f"[{_key_text(key)}] when map expects arguments: [{_key_text(info.key)}]", target.pos)
        elif info.key.kind == "string" and key.size > info.key.size:
            info.key = key
        elif info.key.kind == "tuple" and key != info.key:
            info.key = _widen_tuple(info.key, key)
        elif info.key.kind == "int" and info.key.enumerators != key.enumerators:
            info.key = replace(info.key, tag="", enumerators=())  # enum and plain keys mixed: numbers
        return key

    def assign_var(self, stmt: ast.AssignVarStatement) -> None:
        name = stmt.var.name
        _order_record_fields(stmt.expr, self.vars.get(name))
        value = self.expr(stmt.expr)
        if value.is_aggregate:
            self.error(f"Value '{value}' cannot be assigned to a scratch variable.", stmt.pos)
        elif value.kind == "none" and self.final:
            self.error("Invalid expression for assignment: none", stmt.expr.pos)
        old = self.vars.get(name)
        if old is not None and old.kind != value.kind and value.kind != "none":
            self.error(f"Type mismatch for {name}: trying to assign value of type '{value}' "
                       f"when variable already contains a value of type '{old}'", stmt.pos)
        elif old is None or (old.kind == "string" and value.size > old.size) or value.kind == "tuple":
            self.vars[name] = value if old is None or value.kind != "tuple" else _widen_tuple(old, value)
        self.set(stmt.var, self.vars[name])

    def ctypes(self) -> Any:
        """The C types the script defines, and the kernel's (see ``c_types``); parsed on first use."""
        if self.result.ctypes is None:
            from tinybpf.trace.semantics.c_types import CTypeError, CTypes

            try:
                self.result.ctypes = CTypes(self.program.c_source, self.program.debug_types)
            except (CTypeError, ValueError, IndexError) as exc:
                self.result.ctypes = CTypes()
                pos = self.program.c_definitions[0].pos if self.program.c_definitions else self.program.pos
                self.errors.append(Diagnostic(f"cannot parse the C definitions: {exc}", pos))
        return self.result.ctypes

    # ----------------------------------------------------------------- expressions

    def expr(self, e: ast.Expression, statement: bool = False) -> SType:
        if isinstance(e, ast.Call):
            return self.set(e, self.call(e, statement))
        method = getattr(self, "expr_" + type(e).__name__, None)
        if method is None:
            self.error(f"{type(e).__name__.lower()} expressions are not supported by tinybpf trace yet", e.pos)
            return self.set(e, NONE)
        return self.set(e, method(e))

    def expr_Integer(self, e: ast.Integer) -> SType:
        if e.value > (1 << 64) - 1 or e.value < -(1 << 63):
            self.error("integer literal out of range", e.pos)
        return UINT64 if e.value > (1 << 63) - 1 else INT64

    def expr_String(self, e: ast.String) -> SType:
        return string_type(len(e.value) + 1)

    def expr_Builtin(self, e: ast.Builtin) -> SType:
        name = e.name
        self.used.add(name)
        provider = self.provider
        if name == "curtask":
            from tinybpf.trace.semantics import memory as sema_memory

            return sema_memory.curtask(self)
        if name == "ctx":
            return UINT64
        if name in _INT_BUILTINS:
            if name == "cpid" and not self.has_child:
                self.error("cpid cannot be used without child command", e.pos)
            return _INT_BUILTINS[name]
        if name == "comm":
            return string_type(16)
        if name == "probe":
            names = self.probe_names.get(id(self.probe), []) if self.probe else []
            return string_type(max((len(n) for n in names), default=63) + 1)
        if name == "func":
            if provider not in ("uprobe", "uretprobe", "kprobe", "kretprobe"):
                self.error("The func builtin can not be used with '" + provider + "' probes", e.pos)
            return string_type(self.result.string_size)
        if name == "retval":
            if provider not in _RET_PROVIDERS:
                self.error("The retval builtin can only be used with 'kretprobe' and 'uretprobe' and 'kfunc' "
                           "probes", e.pos)
            return UINT64
        if name.startswith("arg") and name[3:].isdigit():
            if provider not in _ARG_PROVIDERS:
                self.error(f"The {name} builtin can only be used with 'kprobes', 'uprobes' and 'usdt' probes",
                           e.pos)
            elif int(name[3:]) > 5 and provider != "usdt":
                self.error(f"{name} is not supported: only arg0-arg5 are passed in registers", e.pos)
            return UINT64
        if name == "args":
            if provider != "tracepoint":
                kind = "special" if provider in ("BEGIN", "END", "bench") else provider
                self.error(f"The args builtin can only be used with tracepoint/kfunc/uprobeprobes ({kind} used "
                           "here)", e.pos)
            return CTX
        if name in ("kstack", "ustack", "username"):
            from tinybpf.trace.semantics import functions

            return functions.stack_builtin(self, e)
        self.error(f"Unknown builtin variable: '{name}'" if name not in ("kstack", "ustack", "sarg0")
                   else f"the {name} builtin is not supported by tinybpf trace yet", e.pos)
        return NONE

    def expr_Identifier(self, e: ast.Identifier) -> SType:
        if e.name in ("true", "false"):
            return BOOL
        enum = self.ctypes().enumerator_type(e.name) if e.name not in self.ctypes().macros else None
        if enum is not None:
            return _value_type(enum)
        if self.ctypes().enum_value(e.name) is not None:
            return INT64
        self.error(f"Unknown identifier: '{e.name}'", e.pos)
        return NONE

    def expr_Variable(self, e: ast.Variable) -> SType:
        t = self.vars.get(e.name)
        if t is None and e.name in self.declared:
            return NONE
        final = self.result.variables.get(id(self.probe), {}).get(e.name)
        if t is not None and t.kind == "tuple" and final is not None and final.kind == "tuple":
            return final  # the slot holds the widest tuple the variable is ever given
        if t is None:
            self.error(f"Undefined or undeclared variable: {e.name}", e.pos)
            return NONE
        return t

    def expr_Map(self, e: ast.Map) -> SType:
        info = self.result.maps.get(e.name)
        if info is None or info.value is None:
            self.error(f"Undefined map: {e.name}", e.pos)
            self.map_keys(e) if info is not None else [self.expr(k) for k in e.keys]
            return NONE
        self.map_keys(e)
        if info.value.is_aggregate:
            if info.value.kind in ("count", "sum", "min", "max"):
                return SType("int", 8, info.value.signed)
            self.error(f"Map value '{info.value}' cannot be used in an expression", e.pos)
            return NONE
        return info.value

    def expr_Binop(self, e: ast.Binop) -> SType:
        left = self.expr(e.left)
        right = self.expr(e.right)
        if "ptr" in (left.kind, right.kind) and e.op in ("+", "-"):
            if left.kind == "ptr" and right.kind == "ptr":
                return INT64
            return left if left.kind == "ptr" else right
        if e.op in ("&&", "||"):
            for side, t in ((e.left, left), (e.right, right)):
                if not t.is_int and t.kind != "none":
                    self.error(f"Invalid operand for '{e.op}': {t}", side.pos)
            return BOOL
        if left.kind == "none" or right.kind == "none":
            return BOOL if e.op in _COMPARISONS else INT64
        if compared_as_bytes(left, right):
            if e.op not in ("==", "!="):
                self.error(f"The {e.op} operator can not be used on strings", e.pos)
            return BOOL
        if not left.is_int or not right.is_int:
            self.error(f"Type mismatch for '{e.op}': comparing '{left}' with '{right}'", e.pos)
            return INT64
        if e.op in _COMPARISONS:
            return BOOL  # current bpftrace: a comparison is a bool, printed true/false
        return INT64 if left.signed and right.signed else UINT64

    def expr_Unop(self, e: ast.Unop) -> SType:
        if e.op in ("++", "--"):
            return self.increment(e)
        operand = self.expr(e.operand)
        aggregate = self.aggregate_read(e.operand)
        if aggregate is not None:  # current bpftrace casts them for binary operators, for no unary one
            self.error(f"The {e.op} operator can not be used on expressions of type '{aggregate}'", e.pos)
            return NONE
        if e.op == "&":
            if not isinstance(e.operand, ast.Variable) or operand.kind == "none":
                self.error("The & operator can only take the address of a scratch variable", e.pos)
                return NONE
            return SType("ptr", 8, pointee=operand)
        if e.op == "*":
            if operand.kind == "ctx":
                return CTX
            if operand.kind == "ptr":
                from tinybpf.trace.semantics import memory as sema_memory

                return sema_memory.deref(self, e, operand)
            if operand.is_int:
                return UINT64
            self.error(f"Can not dereference type '{operand}'", e.pos)
            return NONE
        if not operand.is_int and operand.kind != "none":
            self.error(f"The {e.op} operator can not be used on expressions of type '{operand}'", e.pos)
            return NONE
        if e.op == "!":
            return BOOL
        return operand if operand.kind != "none" else INT64

    def aggregate_read(self, e: ast.Expression) -> Optional[str]:
        """``count``, ``sum``...: the aggregation a map read of ``e`` yields (read as an integer), if any."""
        info = self.result.maps.get(e.name) if isinstance(e, ast.Map) else None
        value = info.value if info is not None else None
        return value.kind if value is not None and value.is_aggregate else None

    def increment(self, e: ast.Unop) -> SType:
        target = e.operand
        if isinstance(target, ast.Variable):
            t = self.vars.get(target.name)
            if t is None:
                self.error(f"Undefined or undeclared variable: {target.name}", target.pos)
                return NONE
            if not t.is_int:
                self.error(f"The {e.op} operator must be applied to an integer variable", e.pos)
            return self.set(target, t)
        if isinstance(target, ast.Map):
            self.map_keys(target)
            info = self.result.maps.get(target.name)
            if info is not None and info.value is not None and not info.value.is_int:
                self.error(f"The {e.op} operator must be applied to an integer map", e.pos)
            if info is not None and info.value is not None and info.value.kind == "ptr":
                return self.set(target, info.value)
            self.map_value(target, INT64, target.pos)
            return self.set(target, INT64)
        self.error(f"The {e.op} operator must be applied to a map or variable", e.pos)
        return NONE

    def expr_Ternary(self, e: ast.Ternary) -> SType:
        cond = self.expr(e.cond)
        if not cond.is_int and cond.kind != "none":
            self.error(f"Invalid condition in ternary: {cond}", e.cond.pos)
        then = self.expr(e.then)
        otherwise = self.expr(e.otherwise)
        if then.kind != otherwise.kind and "none" not in (then.kind, otherwise.kind):
            self.error(f"Ternary operator must return the same type: have '{then}' and '{otherwise}'", e.pos)
            return then
        if then.is_string:
            return string_type(max(then.size, otherwise.size))
        if then.kind == "bool" and otherwise.kind == "bool":
            return BOOL
        if then.is_int and otherwise.is_int:
            return INT64 if then.signed and otherwise.signed else UINT64
        return then if then.kind != "none" else otherwise

    def expr_FieldAccess(self, e: ast.FieldAccess) -> SType:
        from tinybpf.trace.semantics import memory as sema_memory

        inner = sema_memory.member_owner(self, e.expr)
        if inner.kind in ("struct", "ptr"):
            return sema_memory.field(self, e, inner)
        if inner.kind == "record":
            if e.field not in inner.names:
                self.error(f"Record does not contain a field named '{e.field}'", e.pos)
                return NONE
            return inner.elements[inner.names.index(e.field)]
        if inner.kind != "ctx":
            if _is_curtask_deref(e.expr) and self.ctypes().btf() is None:
                from tinybpf.kernel.btf_files import NO_BTF_HINT, vmlinux_btf_path

                self.error(f"curtask->{e.field} needs the kernel's BTF, but {vmlinux_btf_path()} does not exist; "
                           f"{NO_BTF_HINT}", e.pos)
            elif inner.kind != "none":
                self.error(f"Can not access field '{e.field}' on expression of type '{inner}'", e.pos)
            return NONE
        fields = self.context.tracepoint_fields
        if fields is None:
            return NONE
        found = fields.get(e.field)
        if found is None:
            name = self.context.tracepoint_name
            self.error(f"Struct/union of type 'struct _tracepoint_{name}' does not contain a field named "
                       f"'{e.field}'", e.pos)
            return NONE
        self.used.add("args")
        from tinybpf.trace.semantics.memory import with_space

        return with_space(found[0], self.context.tracepoint_space)

    def expr_TupleAccess(self, e: ast.TupleAccess) -> SType:
        inner = self.expr(e.expr)
        if inner.kind != "tuple":
            if inner.kind != "none":
                self.error(f"Can not access index '{e.index}' on expression of type '{inner}'", e.pos)
            return NONE
        if e.index >= len(inner.elements):
            self.error(f"Invalid tuple index: {e.index}. Found {len(inner.elements)} elements in tuple.", e.pos)
            return NONE
        return inner.elements[e.index]

    def expr_Cast(self, e: ast.Cast) -> SType:
        from tinybpf.trace.semantics import memory as sema_memory

        inner = self.expr(e.expr)
        name = e.type.name
        if e.type.array_length is not None:
            return sema_memory.array_cast(self, e, inner)
        if e.type.pointer_depth or name == "bool" or name.startswith(("struct ", "union ")):
            return sema_memory.cast(self, e, inner)
        if name.startswith("enum ") and self.ctypes().enum_type(name) is not None:
            if not inner.is_int and inner.kind != "none":
                self.error(f"Cannot cast from \"{inner}\" to \"{name}\"", e.pos)
            return _value_type(self.ctypes().enum_type(name))
        sizes = {"int8": 1, "int16": 2, "int32": 4, "int64": 8, "uint8": 1, "uint16": 2, "uint32": 4,
                 "uint64": 8}
        named = None if e.type.pointer_depth or name in sizes else self.ctypes().named_type(name)
        if named is not None and named.kind == "int" and named.size in (1, 2, 4, 8):
            name = str(named)  # a C or kernel integer type: char, uint64_t, u32, __u16...
        if e.type.pointer_depth or name not in sizes:
            self.error(f"Cannot cast to \"{e.type}\"", e.pos)
            return NONE
        as_bytes = inner.kind in ("array", "string") and inner.size == sizes[name]  # an array's bytes as a number
        if not inner.is_int and inner.kind != "none" and not as_bytes:
            self.error(f"Cannot cast from \"{inner}\" to \"{name}\"", e.pos)
        return int_type(sizes[name], not name.startswith("u"))

    def expr_Tuple(self, e: ast.Tuple) -> SType:
        elements = [self.expr(x) for x in e.elements]
        for x, t in zip(e.elements, elements):
            if t.is_aggregate or t.kind in ("ctx",):
                self.error(f"Invalid tuple element type: {t}", x.pos)
        t = tuple_type(elements)
        if e.names:
            t = SType("record", t.size, elements=t.elements, names=tuple(e.names), offsets=t.offsets)
        if t.size > SCRATCH_LIMIT // 2:  # the deepest probe frame, a scratch-map one
            self.error("tuple is too big for the BPF stack", e.pos)
        return t

    def expr_Sizeof(self, e: ast.Sizeof) -> SType:
        from tinybpf.trace.semantics import memory as sema_memory

        if isinstance(e.target, ast.TypeName) and sema_memory.named_type(self, e.target) is not None:
            return UINT64
        if isinstance(e.target, ast.TypeName):
            sizes = {"int8": 1, "int16": 2, "int32": 4, "int64": 8, "uint8": 1, "uint16": 2, "uint32": 4,
                     "uint64": 8, "char": 1, "short": 2, "int": 4, "long": 8}
            enumerator = self.ctypes().enumerator_type(e.target.name)  # 64-bit, like an identifier's value
            if e.target.pointer_depth == 0 and e.target.name not in sizes and enumerator is None:
                self.error(f"Unknown type: {e.target}", e.pos)
        else:
            self.expr(e.target)
        return UINT64

    def expr_ArrayAccess(self, e: ast.ArrayAccess) -> SType:
        from tinybpf.trace.semantics import memory as sema_memory

        return sema_memory.array_access(self, e)

    def expr_Offsetof(self, e: ast.Offsetof) -> SType:
        from tinybpf.trace.semantics import memory as sema_memory

        return sema_memory.offsetof(self, e)

    # ----------------------------------------------------------------- calls

    def call(self, e: ast.Call, statement: bool) -> SType:
        from tinybpf.trace.semantics import functions

        name = e.name
        if functions.handles(e):
            return self.set(e, functions.check(self, e))
        if name not in _KNOWN_CALLS:
            if name in _UNSUPPORTED_CALLS:
                self.error(f"{name}() is not supported by tinybpf trace yet", e.pos)
            else:
                self.error(f"Unknown function: {name}", e.pos)
            for arg in e.args:
                self.expr(arg)
            return NONE
        if name in AGGREGATES:
            return self.aggregate(e, statement)
        return getattr(self, "call_" + name)(e, [self.call_arg(name, a) for a in e.args])

    def call_arg(self, name: str, arg: ast.Expression) -> SType:
        """Type a call argument; a whole map given to print/clear/zero/delete is not read as a value."""
        if not isinstance(arg, ast.Map) or name not in ("print", "clear", "zero", "delete"):
            return self.expr(arg)
        if name == "print" and arg.keys:
            return self.expr(arg)
        if arg.keys:
            self.map_keys(arg)
        elif arg.name not in self.result.maps:
            self.error(f"Undefined map: {arg.name}", arg.pos)
        return self.set(arg, NONE)

    def nargs(self, e: ast.Call, low: int, high: Optional[int] = None) -> bool:
        """Check the argument count; bpftrace's wording."""
        n = len(e.args)
        high = low if high is None else high
        if low <= n <= high:
            return True
        if low == high:
            words = {0: "no arguments", 1: "one argument", 2: "two arguments"}
            self.error(f"{e.name}() requires {words.get(low, f'{low} arguments')} ({n} provided)", e.pos)
        elif n < low:
            self.error(f"{e.name}() requires at least {low} argument{'s' if low > 1 else ''} ({n} provided)",
                       e.pos)
        else:
            self.error(f"{e.name}() takes up to {high} arguments ({n} provided)", e.pos)
        return False

    def aggregate(self, e: ast.Call, statement: bool) -> SType:
        name = e.name
        counts = {"count": (0, 0), "hist": (1, 2), "lhist": (4, 4), "tseries": (3, 4)}
        low, high = counts.get(name, (1, 1))
        if not e.args:
            high = low  # bpftrace's wording for a missing value: "requires one argument"
        args = [self.expr(a) for a in e.args]
        self.nargs(e, low, high)
        target = self.assigned_map(e)
        if target is None:
            self.error(f"{name}() should be directly assigned to a map", e.pos)
            return NONE
        for arg, t in zip(e.args[:1], args[:1]):
            if not t.is_int and t.kind != "none":
                self.error(f"{name}() only supports integer arguments ({t} provided)", arg.pos)
        lhist = (0, 0, 0)
        if name == "lhist" and len(e.args) == 4:
            lhist = self.lhist_params(e)
        signed = bool(args and args[0].signed) if name in ("sum", "min", "max", "avg", "stats", "tseries") else False
        value = SType(name, 8, signed)
        info = self.result.maps.setdefault(target.name, MapInfo(target.name, pos=target.pos))
        if name == "tseries" and len(e.args) >= 3:
            from tinybpf.trace.semantics.tseries import tseries_params

            params = tseries_params(e, self.const_int, self.error)
            if info.tseries != (0, 0, "") and info.tseries != params:
                self.error("Different tseries parameters in a single map unsupported", e.pos)
            info.tseries = params
        if name == "hist" and len(e.args) == 2:
            info.hist_bits = self.hist_bits(e.args[1])
        if name == "lhist":
            if info.lhist != (0, 0, 0) and info.lhist != lhist:
                self.error("Different lhist bounds in a single map unsupported", e.pos)
            info.lhist = lhist
        if info.value is not None and info.value.kind != "none" and info.value.kind != name:
            self.error(f"Type mismatch for {target.name}: trying to assign value of type '{name}' "
                       f"when map already contains a value of type '{info.value}'", target.pos)
        elif info.value is None or info.value.kind == "none" or (signed and not info.value.signed):
            info.value = value
        return value

    def hist_bits(self, arg: ast.Expression) -> int:
        """``hist(v, bits)``: each power of two split into 2**bits buckets."""
        bits = self.const_int(arg)
        if bits is None:
            self.error("hist() second argument must be a literal integer", arg.pos)
            return 0
        if not 0 <= bits <= 5:
            self.error(f"hist: bits {bits} must be 0..5", arg.pos)
            return 0
        return bits

    def lhist_params(self, e: ast.Call) -> tuple[int, int, int]:
        values = []
        for arg, what in zip(e.args[1:], ("min", "max", "step")):
            value = self.const_int(arg)
            if value is None:
                self.error(f"lhist() {what} must be a literal integer", arg.pos)
                return (0, 0, 1)
            values.append(value)
        low, high, step = values
        if step <= 0:
            self.error("lhist() step must be >= 1", e.args[3].pos)
        elif low < 0:
            self.error("lhist() min must be non-negative", e.args[1].pos)
        elif low > high:
            self.error("lhist() min must be less than max", e.args[1].pos)
        elif (high - low) // step > 1000:
            self.error("lhist() too many buckets, must be <= 1000 (would need "
                       f"{(high - low) // step})", e.pos)
        return low, high, max(step, 1)

    def assigned_map(self, e: ast.Call) -> Optional[ast.Map]:
        return self.current_assign_target.get(id(e))

    @property
    def current_assign_target(self) -> dict[int, ast.Map]:
        cache = getattr(self, "_targets", None)
        if cache is None:
            cache = {}
            for node in ast.walk(self.program):
                if isinstance(node, ast.AssignMapStatement) and isinstance(node.expr, ast.Call):
                    cache[id(node.expr)] = node.map
            self._targets = cache
        return cache

    def call_printf(self, e: ast.Call, args: list[SType]) -> SType:
        if not e.args:
            self.nargs(e, 1, 1 << 30)
            return NONE
        if not isinstance(e.args[0], ast.String):
            self.error("printf() expects a string literal as its first argument", e.args[0].pos)
            return NONE
        self.check_format(e, e.args[0].text, args[1:])
        return NONE

    def check_format(self, e: ast.Call, fmt: str, args: list[SType]) -> None:
        for t in args:
            if t.is_aggregate or t.kind == "ctx":
                self.error(f"{e.name}() cannot print a value of type '{t}'", e.pos)
                return
        from tinybpf.trace.semantics.formats import SUPPORTED_CONVERSIONS, conversions

        specs = conversions(fmt)  # the printer's own pattern: both count the same conversions
        if len(args) < len(specs):
            self.error(f"{e.name}: Not enough arguments for format string ({len(args)} supplied, "
                       f"{len(specs)} expected)", e.pos)
        elif len(args) > len(specs):
            self.error(f"{e.name}: Too many arguments for format string ({len(args)} supplied, "
                       f"{len(specs)} expected)", e.pos)
        for spec, t in zip(specs, args):
            token = spec.length + spec.conversion
            if spec.conversion not in SUPPORTED_CONVERSIONS:
                self.error(f"{e.name}: Unknown format string token: %{token}", e.pos)
            elif max(spec.width, spec.precision) > _FORMAT_FIELD_MAX:
                self.error(f"{e.name}: field width or precision of %{token} is too large "
                           f"(at most {_FORMAT_FIELD_MAX})", e.pos)
            elif spec.conversion in "diuxXoc" and not t.is_int and t.kind != "none":
                self.error(f"{e.name}: %{token} specifier expects a value of type integer ({_kind_word(t)} "
                           "supplied)", e.pos)
            elif spec.conversion == "s" and t.kind == "int" and not t.enumerators:
                self.error(f"{e.name}: %{token} specifier expects a value of type string (integer supplied)",
                           e.pos)

    def call_print(self, e: ast.Call, args: list[SType]) -> SType:
        if not self.nargs(e, 1, 3):
            return NONE
        first = e.args[0]
        if isinstance(first, ast.Map) and not first.keys:
            if first.name not in self.result.maps:
                self.error(f"Undefined map: {first.name}", e.pos)
            return NONE
        if len(e.args) > 1 and not isinstance(first, ast.Map):
            self.error("Non-map print() only takes 1 argument", e.pos)
        if args[0].kind == "ctx":
            self.error("print() of a context is not supported by tinybpf trace yet", first.pos)
        return NONE

    def expr_print_target(self, e: ast.Map) -> None:
        """``print(@m)`` names a whole map: it is not read as a value."""

    def call_time(self, e: ast.Call, args: list[SType]) -> SType:
        if self.nargs(e, 0, 1) and e.args and not isinstance(e.args[0], ast.String):
            self.error("time() expects a string literal as its argument", e.args[0].pos)
        return NONE

    def call_str(self, e: ast.Call, args: list[SType]) -> SType:
        if not self.nargs(e, 1, 2):
            return string_type(self.result.string_size)
        if not args[0].is_int and args[0].kind != "none" and not args[0].is_string:
            self.error(f"str() expects an integer or a pointer type as first argument ({args[0]} provided)",
                       e.pos)
        size = self.result.string_size
        if len(e.args) == 2:
            if not args[1].is_int:
                self.error(f"str() only accepts an integer as its second argument ({args[1]} provided)", e.pos)
            value = self.const_int(e.args[1])
            if value is not None and value < 0:
                self.error(f"strcannot use negative length ({value})", e.pos)  # bpftrace's words, sic
            elif value is not None:
                size = max(1, min(value, size))
        return string_type(size)

    def call_strncmp(self, e: ast.Call, args: list[SType]) -> SType:
        if not self.nargs(e, 3):
            return INT64
        for i in (0, 1):
            if not args[i].is_string and args[i].kind != "none":
                self.error(f"strncmp() expects a string as argument {i + 1} ({args[i]} provided)", e.pos)
        if self.const_int(e.args[2]) is None or (self.const_int(e.args[2]) or 0) < 0:
            self.error("strncmp() expects a positive integer literal as third argument", e.pos)
        return UINT64

    def call_exit(self, e: ast.Call, args: list[SType]) -> SType:
        if self.nargs(e, 0, 1) and args and not args[0].is_int:
            self.error(f"exit() only supports int arguments ({args[0]} provided)", e.pos)
        self.used.add("exit")
        return NONE

    def map_arg(self, e: ast.Call) -> Optional[ast.Map]:
        if not self.nargs(e, 1):
            return None
        target = e.args[0]
        if not isinstance(target, ast.Map):
            self.error(f"{e.name}() expects a map to be provided", e.pos)
            return None
        return target

    def call_clear(self, e: ast.Call, args: list[SType]) -> SType:
        self.map_arg(e)
        return NONE

    def call_zero(self, e: ast.Call, args: list[SType]) -> SType:
        self.map_arg(e)
        return NONE

    def call_delete(self, e: ast.Call, args: list[SType]) -> SType:
        target = self.map_arg(e)
        if target is not None and not target.keys:
            info = self.result.maps.get(target.name)
            if info is not None and info.key is not None and not info.keyless:
                self.error("delete() expects a map with a key", e.pos)
        return BOOL

    def call_sizeof(self, e: ast.Call, args: list[SType]) -> SType:
        self.nargs(e, 1)
        return UINT64

    def call_join(self, e: ast.Call, args: list[SType]) -> SType:
        """``join(char **arr [, delim])``: the strings ``arr`` points at, sent to user space and printed."""
        if not self.nargs(e, 1, 2):
            return NONE
        if args[0].kind not in ("int", "ptr"):
            self.error(f"join() only supports int or pointer arguments ({args[0]} provided)", e.pos)
        if len(e.args) > 1 and not isinstance(e.args[1], ast.String):
            self.error("join() expects a string literal as its second argument", e.pos)
        return NONE


_FORMAT_FIELD_MAX = 0x7FFFFFFF
"""C's ``int``: the largest field width or precision a format may give."""


def _kind_word(t: SType) -> str:
    return {"string": "string", "tuple": "tuple", "int": "integer"}.get(t.kind, t.kind)


def _value_type(t: SType) -> SType:
    """Integers are stored in maps as 64-bit values, as bpftrace does."""
    return replace(t, size=8) if t.kind == "int" and t.size != 8 else t


def _scope_loop_variables(program: ast.Program) -> None:
    """Give each ``for ($kv : @map)`` its own ``$kv``: loops over different maps give it different types."""
    number = 0
    for node in ast.walk(program):
        if not isinstance(node, ast.For) or not isinstance(node.iterable, ast.Map) or "__for" in node.var.name:
            continue
        number += 1
        old, new = node.var.name, f"{node.var.name}__for{number}"
        node.var.name = new
        for inner in ast.walk(node.body):
            if isinstance(inner, ast.Variable) and inner.name == old:
                inner.name = new


def _key_text(t: SType) -> str:
    if t.kind == "none":
        return ""
    if t.kind == "tuple":
        return ", ".join(_key_text(e) for e in t.elements)
    if t.is_int:
        return ("" if t.signed else "unsigned ") + f"int{t.size * 8}"
    return str(t)


def _key_compatible(a: SType, b: SType) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "tuple":
        return len(a.elements) == len(b.elements) and all(
            _key_compatible(x, y) for x, y in zip(a.elements, b.elements))
    return True


def _order_record_fields(e: ast.Expression, target: Optional[SType]) -> None:
    """A record literal assigned to a record variable takes the variable's field order (values by name)."""
    if not isinstance(e, ast.Tuple) or target is None or target.kind != "record":
        return
    if e.names == list(target.names) or sorted(e.names) != sorted(target.names):
        return
    by_name = dict(zip(e.names, e.elements))
    e.elements = [by_name[n] for n in target.names]
    e.names = list(target.names)


def _widen_tuple(a: SType, b: SType) -> SType:
    """The tuple type holding both ``a`` and ``b``: strings as wide as the widest, ints 64-bit."""
    if a.kind != "tuple" or b.kind != "tuple" or len(a.elements) != len(b.elements):
        return a
    out = []
    for x, y in zip(a.elements, b.elements):
        if x.kind == "string" and y.kind == "string":
            out.append(string_type(max(x.size, y.size)))
        elif x.kind == "tuple":
            out.append(_widen_tuple(x, y))
        elif x.is_int and y.is_int:
            out.append(SType("int", 8, x.signed and y.signed) if x != y else x)
        else:
            out.append(x)
    return tuple_type(out)


def analyse(program: ast.Program, source: str, filename: str = "stdin",
            fields: Optional[FieldResolver] = None, has_child: bool = False,
            probe_names: Optional[dict[int, list[str]]] = None) -> Analysis:
    """Type ``program``; raises ``TraceError`` (bpftrace-shaped diagnostics) on the first error.

    ``probe_names`` gives each probe's expanded attach point names (they size the ``probe`` builtin).
    """
    return SemanticAnalyser(program, source, filename, fields, has_child, probe_names).analyse()


def _is_curtask_deref(e: ast.Expression) -> bool:
    """``curtask->f`` parses as ``(*curtask).f``: without BTF, curtask is a plain integer."""
    return isinstance(e, ast.Unop) and e.op == "*" and isinstance(e.operand, ast.Builtin) and e.operand.name == "curtask"
