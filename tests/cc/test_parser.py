"""The C parser: declarators, GNU extensions, pragmas on loops, and several errors per run."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinybpf.cc.diagnostics import CCError, Diagnostics, SourceLines
from tinybpf.cc.preprocess import Options, preprocess
from tinybpf.cc.syntax import ast
from tinybpf.cc.syntax.parser import parse


def unit(text: str, known_type: object = None) -> ast.TranslationUnit:
    diagnostics = Diagnostics(SourceLines())
    return parse(preprocess(text, "t.c", Options(), diagnostics), diagnostics, known_type)  # type: ignore[arg-type]


def function(text: str, name: str = "f") -> ast.FunctionDef:
    for item in unit(text).items:
        if isinstance(item, ast.FunctionDef) and item.declarator.name == name:
            return item
    raise AssertionError(f"no function {name}")


def layer_kinds(declarator: ast.Declarator) -> list[str]:
    return [type(layer).__name__.replace("Layer", "") for layer in declarator.layers]


def test_declarators_derive_from_the_name_outwards() -> None:
    items = unit("int *a[3]; int (*b)[3]; int (*c)(int, char *); char * const * d; int e[2][4];").items
    kinds = {d.declarators[0].declarator.name: layer_kinds(d.declarators[0].declarator) for d in items
             if isinstance(d, ast.Declaration)}
    assert kinds == {
        "a": ["Array", "Pointer"], "b": ["Pointer", "Array"], "c": ["Pointer", "Function"],
        "d": ["Pointer", "Pointer"], "e": ["Array", "Array"],
    }
    d = items[3]
    assert isinstance(d, ast.Declaration)
    layers = d.declarators[0].declarator.layers
    assert isinstance(layers[1], ast.PointerLayer) and layers[1].qualifiers == ["const"]


def test_typedef_names_decide_declaration_or_expression() -> None:
    body = function("typedef int T; int f(int x) { T * y; x * x; { int T = 2; T * x; } return 0; }").body
    assert isinstance(body.items[0], ast.Declaration)
    assert isinstance(body.items[1], ast.ExprStmt) and isinstance(body.items[1].expr, ast.Binary)
    inner = body.items[2]
    assert isinstance(inner, ast.Compound) and isinstance(inner.items[1], ast.ExprStmt)


def test_kernel_types_come_from_a_callback() -> None:
    asked = []

    def known(name: str) -> bool:
        asked.append(name)
        return name == "u32"

    source = "int f(void) { u32 * p; return 0; }"
    with pytest.raises(CCError):  # kernel types exist only after the virtual vmlinux.h's pragma
        unit("u32 * p;", known)
    assert isinstance(unit("#pragma tinybpf kernel_types\n" + source, known).items[0], ast.FunctionDef)
    assert "u32" in asked


def test_gnu_expressions() -> None:
    body = function(
        "struct s { int a; int b[4]; };\n"
        "int f(int x) {\n"
        "  int y = ({ int t = x; t + 1; });\n"
        "  __typeof__(y) z = x ?: 3;\n"
        "  long o = __builtin_offsetof(struct s, b[2]);\n"
        "  struct s v = (struct s){ .a = 1, .b = { [1 ... 2] = 5 } };\n"
        "  asm volatile (\"%[out] = %[in]\" : [out] \"=r\"(z) : [in] \"r\"(y) : \"memory\");\n"
        "  return __builtin_types_compatible_p(int, typeof(z)) + sizeof(struct s) + _Alignof(long) + z + o + v.a;\n"
        "}"
    ).body
    declaration = body.items[0]
    assert isinstance(declaration, ast.Declaration)
    assert isinstance(declaration.declarators[0].init, ast.StmtExpr)
    z = body.items[1]
    assert isinstance(z, ast.Declaration) and isinstance(z.specs.specifiers[0], ast.TypeofSpec)
    assert isinstance(z.declarators[0].init, ast.Conditional) and z.declarators[0].init.then is None
    offset = body.items[2]
    assert isinstance(offset, ast.Declaration)
    init = offset.declarators[0].init
    assert isinstance(init, ast.Offsetof) and init.path[0] == "b" and isinstance(init.path[1], ast.IntLit)
    literal = body.items[3]
    assert isinstance(literal, ast.Declaration)
    compound = literal.declarators[0].init
    assert isinstance(compound, ast.CompoundLiteral)
    inner = compound.init.items[1][1]
    assert isinstance(inner, ast.InitList) and inner.items[0][0][0].last is not None
    asm = body.items[4]
    assert isinstance(asm, ast.Asm) and asm.outputs[0].name == "out" and asm.clobbers == ["memory"]


def test_structs_bitfields_anonymous_members_and_attributes() -> None:
    items = unit(
        "struct __attribute__((packed)) hdr { unsigned int ihl : 4, version : 4; union { int a; char b; };"
        " int : 0; } __attribute__((aligned(8)));\n"
        "int counter __attribute__((section(\".data\"), used)) = 0;\n"
        "__attribute__((always_inline)) static inline int g(void) { return 1; }\n"
    ).items
    record = items[0]
    assert isinstance(record, ast.Declaration)
    spec = record.specs.specifiers[0]
    assert isinstance(spec, ast.RecordSpec) and spec.fields is not None
    assert [a.name for a in spec.attributes] == ["packed", "aligned"]
    assert [f.declarator.name if f.declarator else None for f in spec.fields] == ["ihl", "version", None, None]
    assert spec.fields[0].bits is not None
    counter = items[1]
    assert isinstance(counter, ast.Declaration)
    attrs = counter.declarators[0].declarator.attributes
    assert [(a.name, len(a.args)) for a in attrs] == [("section", 1), ("used", 0)]
    g = items[2]
    assert isinstance(g, ast.FunctionDef) and g.specs.storage == ["static"] and g.specs.function == ["inline"]


def test_statements_labels_switch_and_loops_with_pragmas() -> None:
    body = function(
        "int f(int x) {\n"
        "  switch (x) { case 1 ... 3: x++; break; default: break; }\n"
        "#pragma unroll\n"
        "  for (int i = 0; i < 4; i++) x += i;\n"
        "  _Pragma(\"clang loop unroll(disable)\") while (x) x--;\n"
        "  do { goto out; } while (0);\n"
        "out:\n"
        "  return x;\n"
        "}"
    ).body
    switch = body.items[0]
    assert isinstance(switch, ast.Switch)
    loops = [item for item in body.items if isinstance(item, ast.Loop)]
    assert [(loop.kind, loop.pragmas) for loop in loops] == [
        ("for", ["unroll"]), ("while", ["clang loop unroll(disable)"]), ("do", [])
    ]
    assert isinstance(loops[0].init, ast.Declaration)
    assert isinstance(body.items[-1], ast.Labeled)


def test_clang_attribute_push_applies_to_records() -> None:
    items = unit(
        "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
        "struct task { int pid; };\n"
        "#pragma clang attribute pop\n"
        "struct other { int x; };\n"
    ).items
    names = []
    for item in items:
        assert isinstance(item, ast.Declaration)
        spec = item.specs.specifiers[0]
        assert isinstance(spec, ast.RecordSpec)
        names.append([a.name for a in spec.attributes])
    assert names == [["preserve_access_index"], []]


def test_strings_concatenate_and_unescape() -> None:
    decl = unit('char s[] = "a\\n" "\\x41\\101" "\\0z";').items[0]
    assert isinstance(decl, ast.Declaration)
    init = decl.declarators[0].init
    assert isinstance(init, ast.StringLit) and init.value == b"a\nAA\0z"


def test_several_errors_with_positions() -> None:
    with pytest.raises(CCError) as info:
        unit("int f(void) {\n  int x = ;\n  x = 1\n  return x;\n}\nint g(void) { return (1; }\n")
    text = info.value.render()
    assert "t.c:2:11: error: expected expression" in text
    assert "t.c:3:8: error: expected ';' after expression" in text
    assert "t.c:6:24: error: expected ')'" in text
    assert text.endswith("3 errors generated.")


def test_errors_inside_macros_point_at_the_use_with_notes() -> None:
    with pytest.raises(CCError) as info:
        unit("#define BAD(x) (x +)\nint f(void) {\n  return BAD(1);\n}\n")
    lines = info.value.render().splitlines()
    assert lines[0] == "t.c:3:10: error: expected expression"
    assert lines[3] == "t.c:1:20: note: expanded from macro 'BAD'"


def test_left_associative_chains_do_not_recurse() -> None:
    source = "int f(void) { return " + " + ".join(["1"] * 5000) + " || " + " || ".join(["0"] * 2000) + "; }"
    assert isinstance(unit(source).items[0], ast.FunctionDef)


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    with pytest.raises(CCError) as info:
        unit("int f(void) { return " + "(" * 2000 + "1" + ")" * 2000 + "; }")
    assert "bracket nesting level exceeded" in str(info.value)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from([
    "int", "x", "y", "*", "(", ")", "{", "}", "[", "]", ";", ",", "=", "1", "struct", "s", "typedef", "return",
    "if", "else", "for", "while", "?", ":", "+", "&", ".", "->", "__attribute__", "((", "))", "sizeof", '"s"',
    "__typeof__", "asm", "case", "switch", "goto", "...", "enum", "{ }", "char", "static", "\n",
]), max_size=50).map(" ".join))
def test_any_tokens_parse_or_fail_with_positions(text: str) -> None:
    try:
        unit(text)
    except CCError as exc:
        assert exc.diagnostics and str(exc)


LIBBPF = Path("/usr/include/bpf/bpf_helpers.h")


def test_programs_with_libbpf_headers_parse() -> None:
    if not LIBBPF.exists():
        pytest.skip("libbpf-dev headers are not installed (a test-time reference only)")
    source = (
        "typedef unsigned int __u32; typedef unsigned long long __u64; typedef int __s32;\n"
        "typedef unsigned short __u16; typedef unsigned char __u8; typedef __u16 __be16; typedef __u32 __be32;\n"
        "typedef __u32 __wsum; typedef long long __s64;\n"
        "struct pt_regs { unsigned long di, si, dx, cx, r8, r9, ax, sp, ip, bp, r10, orig_ax; };\n"
        "#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n#include <bpf/bpf_core_read.h>\n"
        "struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u32);"
        " __type(value, __u64); } m SEC(\".maps\");\n"
        'SEC("kprobe/do_unlinkat") int BPF_KPROBE(k, int dfd, void *name) {\n'
        "  __u32 key = 1; __u64 *v = bpf_map_lookup_elem(&m, &key); if (!v) return 0;\n"
        '  bpf_printk("x %d", dfd); return PT_REGS_PARM1(ctx) + BPF_CORE_READ(ctx, di); }\n'
        'char LICENSE[] SEC("license") = "GPL";\n'
    ).replace("BPF_MAP_TYPE_HASH", "1")
    diagnostics = Diagnostics(SourceLines())
    options = Options(system_dirs=["/usr/local/include", "/usr/include"], defines=[("__TARGET_ARCH_x86", "1")])
    tree = parse(preprocess(source, "p.c", options, diagnostics), diagnostics)
    names = [item.declarator.name for item in tree.items if isinstance(item, ast.FunctionDef)]
    assert "k" in names and "____k" in names
