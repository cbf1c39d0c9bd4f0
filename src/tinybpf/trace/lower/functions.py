"""Code generation for the functions of ``trace.functions``: integer results, blobs decoded in user space
(stacks, symbols, buffers, timestamps, addresses) and the calls that only send an event or a signal.

Stacks go through ``bpf_get_stackid`` into the stack-trace maps ``compiled.KSTACK_MAP``/``USTACK_MAP``; the
value kept is the id (and for user stacks the pid, to read the process's mappings when printing).
"""
from __future__ import annotations

import signal as signals
from typing import TYPE_CHECKING, Union

from tinybpf.asm import (
    FP,
    LD_IMM64,
    R0,
    R1,
    R2,
    R3,
    R4,
    R5,
    R6,
    ALUOp,
    Instruction,
    JumpOp,
    PseudoLoad,
    Size,
    alu64,
    bswap,
    call,
    ja,
    jmp,
    ld_map_fd,
    ldx,
    mov64,
    st,
    stx,
)
from tinybpf.backend.regalloc import Value
from tinybpf.errors import CompileError
from tinybpf.trace.lower.compiled import BUILD_ID_MAP, KSTACK_MAP, USTACK_MAP
from tinybpf.trace.semantics.functions import MAX_STACK_FRAMES, clock_helper
from tinybpf.trace.semantics.stype import SType
from tinybpf.trace.syntax import ast

if TYPE_CHECKING:
    from tinybpf.trace.lower.context import Lowering as ProbeCodegen

BPF_F_USER_STACK = 1 << 8
CTX_NAMES = ("kstack", "ustack", "ctx", "reg", "uaddr")


def needs_ctx(probe: ast.Probe) -> bool:
    """Stacks (``bpf_get_stackid(ctx, ...)``) and the ``ctx`` builtin need the context register kept."""
    return any(isinstance(n, (ast.Call, ast.Builtin)) and n.name in CTX_NAMES for n in ast.walk(probe))


class FunctionCodegen:
    def __init__(self, gen: ProbeCodegen) -> None:
        self.gen = gen

    def emit(self, item: object) -> None:
        self.gen.emit(item)

    # ----------------------------------------------------------------- statements

    def statement(self, e: ast.Call) -> None:
        if e.name == "signal":
            self.signal(e)
            return
        if e.name == "debugf":
            self.debugf(e)
            return
        fmt = e.args[0]
        if e.name in ("errorf", "warnf") and isinstance(fmt, ast.String):
            pos, severity = e.pos, "ERROR" if e.name == "errorf" else "WARNING"
            where = f"{e.origin or 'stdin'}:{pos.end_line}:{pos.lead_column}-{pos.end_column}: {severity}: "
            located = ast.String(fmt.pos, where.replace("%", "%%").encode() + fmt.value.rstrip(b"\n"))
            e = ast.Call(e.pos, e.name, [located, *e.args[1:]])
        self.gen.calls.printf(e)

    def debugf(self, e: ast.Call) -> None:
        """``bpf_trace_printk(fmt, size, a, b, c)``: the format (with its NUL) and string arguments (for
        ``%s``) copied onto the stack, integers passed as they are."""
        gen = self.gen
        fmt = e.args[0]
        assert isinstance(fmt, ast.String)
        text = fmt.value.split(b"\0", 1)[0] + b"\0"
        slot = gen.stack.alloc(len(text))
        for at in range(0, len(text), 8):
            word = text[at:at + 8]
            for index, byte in enumerate(word):
                self.emit(st(Size.B, FP, slot + at + index, byte))
        strings: dict[int, int] = {}  # argument index -> the stack slot its string was copied to (for %s)
        for index, arg in enumerate(e.args[1:]):
            t = gen.type_of(arg)
            if t.is_string:
                strings[index] = gen.stack.alloc(t.size)
                gen.mval(arg, strings[index], t.size)
        values = {index: gen.ival(arg) for index, arg in enumerate(e.args[1:]) if index not in strings}
        for index, register in zip(range(len(e.args) - 1), (R3, R4, R5)):
            if index in strings:
                self.emit(mov64(register, FP))
                self.emit(alu64(ALUOp.ADD, register, strings[index]))
            else:
                self.emit(mov64(register, gen.operand(values[index], register)))
        for value in values.values():
            gen.release(value)
        self.emit(mov64(R1, FP))
        self.emit(alu64(ALUOp.ADD, R1, slot))
        self.emit(mov64(R2, len(text)))
        self.emit(call("trace_printk"))

    def signal(self, e: ast.Call) -> None:
        arg = e.args[-1]
        if isinstance(arg, ast.String):
            name = arg.text.upper()
            name = name if name.startswith("SIG") else "SIG" + name
            try:
                number = int(signals.Signals[name])
            except KeyError:
                raise CompileError(f"signal(): unknown signal {arg.text}") from None
            self.emit(mov64(R1, number))
        else:
            value = self.gen.ival(arg)
            self.emit(mov64(R1, self.gen.operand_reg(value, R1)))
            self.gen.release(value)
        self.emit(call("send_signal"))

    # ----------------------------------------------------------------- integers

    def int_call(self, e: ast.Call) -> Value:
        gen = self.gen
        name = e.name
        if name == "strcontains":
            return self.strcontains(e)
        if name == "bswap":
            t = gen.type_of(e)
            value = gen.ival(e.args[0])
            reg = gen.regs.own(value)
            if t.size > 1:
                self.emit(bswap(reg, t.size * 8))
            return Value(reg=reg, signed=False) if value.reg is None else value
        if name == "reg":
            register = e.args[0]
            assert isinstance(register, ast.String)
            regs = gen.pt_regs
            assert regs is not None  # the analysis checked the name against this machine's registers
            return gen.ctx_load(regs.registers[register.text], regs.word, False)
        if name == "nsecs":
            self.emit(call(clock_helper(e)))
            return gen.from_r0()
        if name == "has_key":
            target = e.args[0]
            assert isinstance(target, ast.Map)
            keyed = ast.Map(target.pos, target.name, [e.args[1]])
            layout = gen.layout(target.name)
            key = gen.calls.build_key(layout, keyed.keys)
            gen.calls.lookup(layout, key)
            value = gen.from_r0()
            assert value.reg is not None
            self.emit(jmp(JumpOp.JEQ, value.reg, 0, 1))
            self.emit(mov64(value.reg, 1))
            return value
        if name == "len" and not isinstance(e.args[0], ast.Map):
            return self.stack_length(gen.type_of(e.args[0]))
        if name == "len":
            return self.map_length(e)
        if name in ("uptr", "kptr"):
            return gen.ival(e.args[0])
        if name == "getopt":
            option = self.option(e)
            return Value(const=int(option) if not isinstance(option, str) else 0, signed=gen.type_of(e).signed)
        if name == "uaddr":
            return self.user_address(e)
        if name in ("kaddr", "cgroupid"):
            return Value(const=self.address(e), signed=False)
        if name == "percpu_kaddr":
            return self.percpu_address(e)
        if name == "strlen":
            return self.strlen(e.args[0])
        raise CompileError(f"{name}() is not supported by tinybpf trace yet")

    def strlen(self, e: ast.Expression) -> Value:
        """The bytes before the NUL: ``bpf_probe_read_kernel_str`` copies the string onto itself and counts
        them (with the NUL)."""
        gen = self.gen
        size = gen.type_of(e).size
        slot = gen.stack.alloc(size)
        gen.mval(e, slot, size)
        self.emit(mov64(R1, FP))
        self.emit(alu64(ALUOp.ADD, R1, slot))
        self.emit(mov64(R2, size))
        self.emit(mov64(R3, R1))
        self.emit(call("probe_read_kernel_str"))
        self.emit(alu64(ALUOp.SUB, R0, 1))
        return gen.from_r0()

    def percpu_address(self, e: ast.Call) -> Value:
        """``bpf_per_cpu_ptr(&var, cpu)``, or ``bpf_this_cpu_ptr(&var)`` without a cpu; the kernel fills in
        ``&var`` from the variable's BTF id. The result may be NULL: a null check splits the verifier's state
        so that later arithmetic on it is allowed."""
        from tinybpf.trace.semantics.functions import percpu_variable

        gen = self.gen
        name = e.args[0]
        assert isinstance(name, ast.String)
        var = percpu_variable(name.text)
        assert var is not None
        if len(e.args) > 1:
            cpu = gen.ival(e.args[1])
            reg = gen.operand_reg(cpu, R2)
            if reg != R2:
                self.emit(mov64(R2, reg))
            gen.release(cpu)
        self.emit(Instruction(LD_IMM64, R1, PseudoLoad.BTF_ID, imm=var.id))
        self.emit(call("per_cpu_ptr" if len(e.args) > 1 else "this_cpu_ptr"))
        self.emit(jmp(JumpOp.JEQ, R0, 0, 0))
        return gen.from_r0()

    def option(self, e: ast.Call) -> Union[int, bool, str]:
        from tinybpf.trace.semantics import program_options

        name = e.args[0]
        assert isinstance(name, ast.String)
        return program_options.value_of(name.text, e.args[1] if len(e.args) > 1 else None)

    def usdt_argument(self, index: int) -> Value:
        """argN of a USDT site, as its ``.note.stapsdt`` spec says: a constant, a register of the context,
        or user memory at a register plus an offset; then ``size`` bytes, sign-extended when signed."""
        from tinybpf.elf.usdt import ArgKind, parse_arguments
        from tinybpf.trace.semantics.uprobe_args import usdt_site

        gen = self.gen
        assert gen.target is not None
        site = usdt_site(gen.target)
        specs = parse_arguments(site.args, site.machine)
        if index >= len(specs):
            raise CompileError(f"usdt probe {site.provider}:{site.name} has no arg{index} ({len(specs)} arguments)")
        spec = specs[index]
        if spec.kind is ArgKind.CONSTANT:
            bits = spec.size * 8
            value_bits = spec.constant & ((1 << bits) - 1)
            if spec.signed and value_bits >> (bits - 1):
                value_bits -= 1 << bits
            return Value(const=value_bits, signed=spec.signed)
        if spec.kind is ArgKind.MEMORY and spec.symbol:
            raise CompileError(f"usdt argument {spec.spec}: symbol-relative arguments are not supported")
        value = Value(signed=spec.signed)
        reg = gen.regs.alloc(value)
        self.emit(ldx(Size.W if gen.pt_regs is not None and gen.pt_regs.word == 4 else Size.DW, reg, R6,
                      spec.pt_regs_offset))
        if spec.kind is ArgKind.MEMORY:
            slot = gen.stack.alloc(8)
            self.emit(st(Size.DW, FP, slot, 0))
            self.emit(mov64(R3, reg))
            self.emit(alu64(ALUOp.ADD, R3, spec.offset))
            self.emit(mov64(R1, FP))
            self.emit(alu64(ALUOp.ADD, R1, slot))
            self.emit(mov64(R2, spec.size))
            self.emit(call("probe_read_user"))
            self.emit(ldx(Size.DW, reg, FP, slot))
        if spec.size < 8:
            shift = 64 - spec.size * 8
            self.emit(alu64(ALUOp.LSH, reg, shift))
            self.emit(alu64(ALUOp.ARSH if spec.signed else ALUOp.RSH, reg, shift))
        return value

    def stack_length(self, t: SType) -> Value:
        """``len(ustack)``: the frames of this probe's stack, up to the stack's limit, as ``bpf_get_stack``
        counts them (bytes / 8). The stack value holds only an id into the stack-trace map, and this
        context gives the same stack again."""
        if not self.gen.uses_ctx:
            raise CompileError("stacks need the probe context")
        limit = int(t.tag.partition(":")[2] or MAX_STACK_FRAMES)
        buffer = self.gen.stack.alloc(limit * 8)
        self.emit(mov64(R1, R6))
        self.emit(mov64(R2, FP))
        self.emit(alu64(ALUOp.ADD, R2, buffer))
        self.emit(mov64(R3, limit * 8))
        self.emit(mov64(R4, 0 if t.kind == "kstack" else BPF_F_USER_STACK))
        self.emit(call("get_stack"))
        self.emit(jmp(JumpOp.JSGE, R0, 0, 1))
        self.emit(mov64(R0, 0))
        self.emit(alu64(ALUOp.RSH, R0, 3))
        return self.gen.from_r0()

    def map_length(self, e: ast.Call) -> Value:
        """``len(@map)``: the kernel's element count of the map (the ``bpf_map_sum_elem_count`` kfunc)."""
        from tinybpf.asm import call_kfunc
        from tinybpf.features import kernel_func_btf_id

        target = e.args[0]
        assert isinstance(target, ast.Map)
        btf_id = kernel_func_btf_id("bpf_map_sum_elem_count")
        if not btf_id:
            raise CompileError("len() needs the bpf_map_sum_elem_count kfunc (Linux 6.6)")
        self.emit(ld_map_fd(R1, self.gen.layout(target.name).bpf_name))
        self.emit(call_kfunc(btf_id))
        return self.gen.from_r0()

    def address(self, e: ast.Call) -> int:
        arg = e.args[0]
        text = arg.text if isinstance(arg, ast.String) else ""
        if e.name == "cgroupid":
            import os

            try:
                return os.stat("/sys/fs/cgroup" + text if not text.startswith("/sys/fs/cgroup") else text).st_ino
            except OSError:
                raise CompileError(f"cgroupid(): no cgroup {text}") from None
        if e.name == "kaddr":
            from tinybpf.symbols import kernel_symbols

            address = kernel_symbols().address(text)
            if address is None:
                raise CompileError(f"Failed to resolve kernel symbol: {text}")
            return int(address)
        raise CompileError(f"cannot generate code for {e.name}()")

    def user_address(self, e: ast.Call) -> Value:
        """``uaddr(name)``: the link address, plus on a uprobe in a PIE the load bias (``regs->ip`` minus
        the probed instruction's link address)."""
        from tinybpf.trace.semantics import user_symbols

        gen, arg = self.gen, e.args[0]
        target = gen.target
        if target is None or target.provider not in ("uprobe", "uretprobe", "usdt"):
            raise CompileError("uaddr can only be used with uprobes")
        name = arg.text if isinstance(arg, ast.String) else ""
        symbol = user_symbols.find(target.target, name)
        if symbol is None:
            raise CompileError(f"Could not resolve symbol: {target.target}:{name}")
        probed = user_symbols.find(target.target, target.func) if target.provider == "uprobe" else None
        if not symbol.relocated or probed is None or gen.pt_regs is None:
            return Value(const=symbol.address, signed=False)
        value = gen.ctx_load(gen.pt_regs.pc, gen.pt_regs.word, False)
        assert value.reg is not None
        self.emit(alu64(ALUOp.ADD, value.reg, symbol.address - probed.address - target.offset))
        return value

    def strcontains(self, e: ast.Call) -> Value:
        """1 when the needle occurs in the haystack, by comparing at every start (unrolled, no loops)."""
        gen = self.gen
        slot = gen.stack.alloc(8)
        hay_t, needle_e = gen.type_of(e.args[0]), e.args[1]
        hay = gen.mval(e.args[0])
        found, done = gen.new_label("strc_yes"), gen.new_label("strc_end")
        self.emit(st(Size.DW, FP, slot, 0))
        if isinstance(needle_e, ast.String):
            self.contains_literal(hay, hay_t.size, needle_e.value, found, done)
        else:
            needle = gen.mval(needle_e)
            self.contains_memory(hay, hay_t.size, needle, gen.type_of(needle_e).size, found, done)
        gen.place(found)
        self.emit(st(Size.DW, FP, slot, 1))
        gen.place(done)
        return Value(slot=slot, signed=False)

    def contains_literal(self, hay: int, size: int, needle: bytes, found: str, done: str) -> None:
        gen = self.gen
        needle = needle.split(b"\0", 1)[0]
        if not needle:
            self.emit(ja(found))
            return
        for start in range(size - len(needle) + 1):
            following = gen.new_label("strc_next")
            self.emit(ldx(Size.B, R1, FP, hay + start))
            self.emit(jmp(JumpOp.JEQ, R1, 0, done))
            for i, byte in enumerate(needle):
                if i:
                    self.emit(ldx(Size.B, R1, FP, hay + start + i))
                self.emit(jmp(JumpOp.JNE, R1, byte, following))
            self.emit(ja(found))
            gen.place(following)
        self.emit(ja(done))

    def contains_memory(self, hay: int, hay_size: int, needle: int, needle_size: int, found: str,
                        done: str) -> None:
        gen = self.gen
        self.emit(ldx(Size.B, R2, FP, needle))
        self.emit(jmp(JumpOp.JEQ, R2, 0, found))
        for start in range(hay_size):
            following = gen.new_label("strc_next")
            self.emit(ldx(Size.B, R1, FP, hay + start))
            self.emit(jmp(JumpOp.JEQ, R1, 0, done))
            for i in range(needle_size):
                self.emit(ldx(Size.B, R2, FP, needle + i))
                self.emit(jmp(JumpOp.JEQ, R2, 0, found))
                if start + i >= hay_size:
                    self.emit(ja(following))
                    break
                if i:
                    self.emit(ldx(Size.B, R1, FP, hay + start + i))
                self.emit(jmp(JumpOp.JNE, R1, R2, following))
            else:
                self.emit(ja(found))
            gen.place(following)
        self.emit(ja(done))

    # ----------------------------------------------------------------- blobs

    def write(self, e: ast.Expression, t: SType, dst: int, size: int) -> None:
        """Write the blob value ``e`` (a call or the kstack/ustack/username builtin) at ``fp + dst``."""
        gen = self.gen
        gen.zero(dst, size)
        name = e.name if isinstance(e, (ast.Call, ast.Builtin)) else ""
        args = e.args if isinstance(e, ast.Call) else []
        if name == "getopt" and isinstance(e, ast.Call):
            gen.write_bytes(dst, str(self.option(e)).encode("utf-8", "surrogateescape") + b"\0", size)
        elif name in ("kstack", "ustack"):
            self.stack(name == "kstack", dst, t.tag.startswith("build_id:"))
        elif name == "username":
            self.emit(call("get_current_uid_gid"))
            self.emit(stx(Size.W, FP, R0, dst))
        elif name in ("ksym", "usym", "cgroup_path", "strerror", "syscall_name"):
            self.store(args[0], dst)
            if name == "usym":
                self.pid(dst + 8)
        elif name == "strftime":
            self.store(args[1], dst)
        elif name == "ntop":
            self.ntop(args, dst)
        elif name == "macaddr":
            gen.mval(args[0], dst, 6)
        elif name == "pton" and isinstance(e, ast.Call):
            from tinybpf.trace.semantics.functions import pton_bytes

            gen.write_bytes(dst, pton_bytes(e), size)
        elif name == "buf":
            self.buf(args, t, dst)
        else:
            raise CompileError(f"cannot generate code for {name}()")

    def store(self, e: ast.Expression, dst: int) -> None:
        value = self.gen.ival(e)
        self.gen.store_int(dst, value, 8)
        self.gen.release(value)

    def pid(self, dst: int) -> None:
        self.emit(call("get_current_pid_tgid"))
        self.emit(alu64(ALUOp.RSH, R0, 32))
        self.emit(stx(Size.DW, FP, R0, dst))

    def stack(self, kernel: bool, dst: int, build_id: bool = False) -> None:
        if not self.gen.uses_ctx:
            raise CompileError("stacks need the probe context")
        self.emit(mov64(R1, R6))
        self.emit(ld_map_fd(R2, KSTACK_MAP if kernel else BUILD_ID_MAP if build_id else USTACK_MAP))
        self.emit(mov64(R3, 0 if kernel else BPF_F_USER_STACK))
        self.emit(call("get_stackid"))
        self.emit(stx(Size.DW, FP, R0, dst))
        if not kernel:
            self.pid(dst + 8)

    def ntop(self, args: list[ast.Expression], dst: int) -> None:
        gen = self.gen
        address = args[-1]
        t = gen.type_of(address)
        if len(args) == 2:
            self.store(args[0], dst)
        else:
            self.emit(st(Size.DW, FP, dst, 2 if t.is_int or t.size <= 4 else 10))
        if t.is_int:
            value = gen.ival(address)
            gen.store_int(dst + 8, value, 4)
            gen.release(value)
        else:
            gen.mval(address, dst + 8, min(t.size, 16))

    def buf(self, args: list[ast.Expression], t: SType, dst: int) -> None:
        gen = self.gen
        length = t.size - 8
        self.emit(st(Size.DW, FP, dst, length))
        source_t = gen.type_of(args[0])
        if source_t.in_memory:
            gen.mval(args[0], dst + 8, length)
            return
        pointer = gen.ival(args[0])
        self.emit(mov64(R3, gen.operand_reg(pointer, R3)))
        gen.release(pointer)
        self.emit(mov64(R1, FP))
        self.emit(alu64(ALUOp.ADD, R1, dst + 8))
        self.emit(mov64(R2, length))
        self.emit(call("probe_read_user" if gen.string_space == "user" else "probe_read_kernel"))
