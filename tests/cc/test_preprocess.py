"""The C preprocessor: macros, conditionals, includes and diagnostics, as clang does them for BPF."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinybpf.cc.diagnostics import CCError, Diagnostics, SourceLines
from tinybpf.cc.preprocess import Options, preprocess, preprocess_to_text
from tinybpf.cc.preprocess.lexer import tokenize
from tinybpf.cc.preprocess.predefined import Target, predefined_source


def tokens(text: str, options: Options | None = None, path: str = "t.c") -> list[str]:
    diagnostics = Diagnostics(SourceLines())
    return [t.text for t in preprocess(text, path, options or Options(), diagnostics)]


def joined(text: str, options: Options | None = None) -> str:
    return " ".join(tokens(text, options))


def failure(text: str, options: Options | None = None, path: str = "t.c") -> CCError:
    with pytest.raises(CCError) as info:
        tokens(text, options, path)
    return info.value


def test_object_and_function_macros_rescan_with_hide_sets() -> None:
    assert joined("#define N 4\nint a[N];") == "int a [ 4 ] ;"
    # C11 6.10.3.5's rescanning rule: a macro never expands inside its own expansion.
    assert joined("#define f(a) a*g\n#define g(a) f(a)\nf(2)(9)") == "2 * 9 * g"
    assert joined("#define x x + 1\nx") == "x + 1"
    assert joined("#define f(x) x\nf") == "f"  # a function-like name without ( stays a name
    assert joined("#define EMPTY\n#define f() 1\nf() EMPTY f( )") == "1 1"


def test_stringize_and_paste() -> None:
    source = '#define S(x) #x\n#define X(x) S(x)\n#define C(a, b) a ## b\nS(a  "b\\n"  c) X(__LINE__) C(x, 1) C(, y) C(,)'
    assert tokens(source) == ['"a \\"b\\\\n\\" c"', '"4"', "x1", "y"]
    error = failure("#define C(a, b) a ## b\nC(+, /)")
    assert "pasting formed '+/', an invalid preprocessing token" in error.render()


def test_variadic_macros_gnu_and_c2x() -> None:
    source = (
        "#define P(fmt, ...) printk(fmt, ## __VA_ARGS__)\n"
        "#define Q(fmt, args...) printk(fmt, ##args)\n"
        "#define O(...) g(0 __VA_OPT__(,) __VA_ARGS__)\n"
        'P("a") P("a", 1, 2) Q("b") Q("b", 3) O() O(1, 2)'
    )
    assert joined(source) == (
        'printk ( "a" ) printk ( "a" , 1 , 2 ) printk ( "b" ) printk ( "b" , 3 ) g ( 0 ) g ( 0 , 1 , 2 )'
    )


def test_conditionals_and_expressions() -> None:
    source = """
#define A 3
#if defined(A) && A == 3 && !defined B && (A > 2 ? 1 : 1 / 0)
yes1
#endif
#if -1 < 0u
no
#elif 0 || (2 * 3 == 6)
yes2
#else
no
#endif
#ifdef B
no
#elifndef B
yes3
#endif
#if 0
it's fine: apostrophes in skipped groups are no error
#endif
#if 0x10 == 16 && 010 == 8 && 'A' == 65 && '\\n' == 10 && (1 << 40) > 0
yes4
#endif
"""
    assert tokens(source) == ["yes1", "yes2", "yes3", "yes4"]


def test_builtin_macros() -> None:
    assert joined("__LINE__ __FILE__\n__LINE__ __COUNTER__ __COUNTER__") == '1 "t.c" 2 0 1'
    source = "#if __has_builtin(__builtin_preserve_access_index) && __has_attribute(preserve_access_index) \\\n" \
             "  && !__has_builtin(__builtin_nothing) && defined(__has_include)\nok\n#endif"
    assert tokens(source) == ["ok"]


def test_pragmas_reach_the_token_stream() -> None:
    diagnostics = Diagnostics(SourceLines())
    source = "#define DO(x) _Pragma(#x)\n#pragma unroll\nDO(clang loop unroll(full)) for\n#pragma once\n"
    stream = preprocess(source, "t.c", Options(), diagnostics)
    assert [(t.kind, t.text) for t in stream] == [
        ("pragma", "unroll"), ("pragma", "clang loop unroll(full)"), ("ident", "for")
    ]


def test_line_directive_renumbers(tmp_path: Path) -> None:
    diagnostics = Diagnostics(SourceLines())
    stream = preprocess('a\n#line 100 "other.c"\nb __LINE__ __FILE__\n', "t.c", Options(), diagnostics)
    assert [(t.text, t.loc.file, t.loc.line) for t in stream] == [
        ("a", "t.c", 1), ("b", "other.c", 100), ("100", "other.c", 100), ('"other.c"', "other.c", 100)
    ]


def test_include_search_once_and_next(tmp_path: Path) -> None:
    (tmp_path / "local").mkdir()
    (tmp_path / "sys1").mkdir()
    (tmp_path / "sys2").mkdir()
    (tmp_path / "local" / "h.h").write_text("local\n")
    (tmp_path / "sys1" / "h.h").write_text("sys1\n#include_next <h.h>\n")
    (tmp_path / "sys2" / "h.h").write_text("sys2\n")
    (tmp_path / "local" / "once.h").write_text("#pragma once\nonce\n")
    main = tmp_path / "local" / "main.c"
    source = '#include "h.h"\n#include <h.h>\n#include "once.h"\n#include "once.h"\n#define H <h.h>\n#include H\n' \
             "#if __has_include(<h.h>) && !__has_include(\"missing.h\")\nhas\n#endif\n"
    options = Options(include_dirs=[str(tmp_path / "sys1"), str(tmp_path / "sys2")])
    assert tokens(source, options, str(main)) == ["local", "sys1", "sys2", "once", "sys1", "sys2", "has"]


def test_command_line_defines_and_target_macros() -> None:
    options = Options(defines=[("__TARGET_ARCH_x86", "1"), ("V", "2")], undefines=["__clang__"])
    assert joined("__TARGET_ARCH_x86 V __bpf__ __BPF_CPU_VERSION__ __clang__", options) == "1 2 1 3 __clang__"
    big = Options(target=Target(big_endian=True))
    assert tokens("#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__\nbe\n#endif", big) == ["be"]
    assert tokens("#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__\nle\n#endif") == ["le"]


def test_errors_are_clang_style_with_positions_and_notes() -> None:
    source = "#define A(x) x\nint a = A(1, 2);\n#define B(x) undefined_thing x\n#if 1 / 0\n#endif\n#error stop here\n#if 1\n"
    error = failure(source)
    text = error.render()
    assert text.splitlines()[:5] == [
        "t.c:2:14: error: too many arguments provided to function-like macro invocation",
        "int a = A(1, 2);",
        "             ^",
        "t.c:1:9: note: macro 'A' defined here",
        "#define A(x) x",
    ]
    assert "t.c:4:7: error: division by zero in preprocessor expression" in text
    assert "t.c:6:2: error: stop here" in text
    assert "t.c:7:2: error: unterminated conditional directive" in text
    assert text.endswith("4 errors generated.")
    assert str(error).startswith("t.c:2:14: error: too many arguments")  # the one-line form


def test_missing_include_is_fatal_at_the_name() -> None:
    error = failure('int x;\n#include "nope.h"\nint y = A(;\n')
    assert error.render().splitlines()[:3] == [
        "t.c:2:10: fatal error: 'nope.h' file not found", '#include "nope.h"', "         ^"
    ]


def test_unterminated_literals_and_comments() -> None:
    assert "missing terminating ' character" in failure("char c = 'a;\n").render()
    assert "unterminated /* comment" in failure("int a; /* no end\n").render()


def test_positions_survive_line_splices() -> None:
    diagnostics = Diagnostics(SourceLines())
    stream = preprocess("int a\\\n  = 1;\nb", "t.c", Options(), diagnostics)
    assert [(t.text, t.loc.line, t.loc.column) for t in stream] == [
        ("int", 1, 1), ("a", 1, 5), ("=", 2, 3), ("1", 2, 5), (";", 2, 6), ("b", 3, 1)
    ]


def test_preprocessed_text_keeps_lines() -> None:
    text, _ = preprocess_to_text("#define X 1\n\nint a = X;\n#pragma unroll\nfor\n", "t.c", Options())
    assert text.splitlines() == ['# 3 "t.c"', "int a = 1;", "#pragma unroll", '# 5 "t.c"', "for"]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from([*"#()\\,\"'<>/*\n ab_1x.", "#define ", "#if ", "#endif", "#else", "#include ",
                                 "##", "__VA_ARGS__", "defined", "...", "#undef ", "#elif ", "_Pragma",
                                 "__has_include(", "#line "]), max_size=40).map("".join))
def test_any_text_gives_tokens_or_positioned_errors(text: str) -> None:
    """Fuzz: arbitrary input ends in tokens or a CCError whose first diagnostic has a position."""
    try:
        tokens(text)
    except CCError as exc:
        assert exc.diagnostics and str(exc)


# ----- differential tests against clang (a test-time reference only)

CLANG = "clang"


def _clang(*args: str, stdin: str = "") -> str:
    try:
        done = subprocess.run([CLANG, "-target", "bpf", *args], input=stdin, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        pytest.skip("clang is not installed (a test-time reference only)")
    assert done.returncode == 0, done.stderr
    return done.stdout


def _clang_tokens(text: str) -> list[str]:
    kept = "\n".join(line for line in text.splitlines() if not line.startswith(("# ", "#pragma")))
    return [t.text for t in tokenize(kept, "x")]


@pytest.mark.parametrize("target", ["bpfel", "bpfeb"])
def test_predefined_macros_match_clang(target: str) -> None:
    """Every macro tinybpf predefines that clang also defines has clang's value (version and identity
    macros aside), and the ones BPF programs test are all there."""
    reference = {}
    for line in _clang("-E", "-dM", "-", stdin="").splitlines() if target == "bpfel" else \
            subprocess.run([CLANG, "-target", "bpfeb", "-E", "-dM", "-"], input="", capture_output=True,
                           text=True).stdout.splitlines():
        _, name, *value = line.split(" ", 2)
        reference[name] = value[0] if value else ""
    ours = {}
    for line in predefined_source(Target(big_endian=target == "bpfeb", optimize=False)).splitlines():
        _, name, *value = line.split(" ", 2)
        ours[name] = value[0].strip() if value else ""
    identity = {"__clang_major__", "__clang_minor__", "__clang_patchlevel__", "__VERSION__", "__BPF_CPU_VERSION__"}
    differ = {n: (v, reference[n]) for n, v in ours.items() if n in reference and n not in identity and reference[n].strip() != v}
    assert not differ
    wanted = {"__bpf__", "__BPF__", "__BYTE_ORDER__", "__SIZEOF_LONG__", "__SIZEOF_POINTER__", "__LP64__",
              "__UINT64_TYPE__", "__INT64_C_SUFFIX__", "__CHAR_BIT__", "__ORDER_LITTLE_ENDIAN__", "__GNUC__"}
    assert wanted <= set(ours)
    missing = {n for n in reference if n not in ours and not n.startswith(("__FLT", "__DBL", "__LDBL", "__DECIMAL",
                                                                       "__OPENCL", "__OBJC", "__clang_", "__GXX"))}
    assert not missing - {"__CONSTANT_CFSTRINGS__", "__PRAGMA_REDEFINE_EXTNAME", "__BITINT_MAXWIDTH__",
                          "__GCC_ATOMIC_TEST_AND_SET_TRUEVAL", "__NO_INLINE__", "__SIZEOF_DOUBLE__",
                          "__SIZEOF_FLOAT__", "__SIZEOF_LONG_DOUBLE__"}


SNIPPETS = [
    "#define hash_hash # ## #\n#define mkstr(a) # a\n#define in_between(a) mkstr(a)\n#define join(c, d) in_between(c hash_hash d)\n"
    "char p[] = join(x, y);",
    "#define t(x,y,z) x ## y ## z\nint j[] = { t(1,2,3), t(,4,5), t(6,,7), t(8,9,), t(10,,), t(,11,), t(,,12), t(,,) };",
    "#define OBJ_LIKE (1-1)\n#define OBJ_LIKE /* white space */ (1-1) /* other */\n#define FUNC_LIKE(a) ( a )\n"
    "#define FUNC_LIKE( a )( /* note the white space */ \\\n a /* other stuff on this line\n */ )\nOBJ_LIKE FUNC_LIKE(3)",
    "#define debug(...) fprintf(stderr, __VA_ARGS__)\n#define showlist(...) puts(#__VA_ARGS__)\n"
    "#define report(test, ...) ((test)?puts(#test): printf(__VA_ARGS__))\n"
    'debug("Flag"); debug("X = %d\\n", x); showlist(The first, second, and third items.);\n'
    'report(x>y, "x is %d but y is %d", x, y);',
    "#define x 3\n#define f(a) f(x * (a))\n#undef x\n#define x 2\n#define g f\n#define z z[0]\n#define h g(~\n"
    "#define m(a) a(w)\n#define w 0,1\n#define t(a) a\n#define p() int\n#define q(x) x\n#define r(x,y) x ## y\n"
    "#define str(x) # x\nf(y+1) + f(f(z)) % t(t(g)(0) + t)(1);\ng(x+(3,4)-w) | h 5) & m\n(f)^m(m);\n"
    "p() i[q()] = { q(1), r(2,3), r(4,), r(,5), r(,) };\nchar c[2][6] = { str(hello), str() };",
    "#define ___bpf_nth(_, _1, _2, _3, N, ...) N\n#define ___bpf_narg(...) ___bpf_nth(_, ##__VA_ARGS__, 3, 2, 1, 0)\n"
    "#define ___concat(a, b) a ## b\n#define ___apply(fn, n) ___concat(fn, n)\n"
    "___bpf_narg() ___bpf_narg(a) ___bpf_narg(a, b, c) ___apply(x, ___bpf_narg(a, b))",
]


@pytest.mark.parametrize("index", range(len(SNIPPETS)))
def test_token_streams_match_clang(index: int) -> None:
    source = SNIPPETS[index]
    assert tokens(source) == _clang_tokens(_clang("-E", "-P", "-", stdin=source))


LIBBPF = Path("/usr/include/bpf/bpf_helpers.h")


def test_libbpf_headers_expand_as_clang_expands_them(tmp_path: Path) -> None:
    """A program with libbpf's headers (libbpf-dev, a test-time reference) gives clang's tokens."""
    if not LIBBPF.exists():
        pytest.skip("libbpf-dev headers are not installed (a test-time reference only)")
    source = tmp_path / "prog.bpf.c"
    source.write_text(
        "typedef unsigned int __u32; typedef unsigned long long __u64; typedef int __s32;\n"
        "typedef unsigned short __u16; typedef unsigned char __u8; typedef __u16 __be16; typedef __u32 __be32;\n"
        "typedef __u32 __wsum; typedef long long __s64;\n"
        "struct pt_regs { unsigned long di, si, dx, cx, r8, r9, ax, sp, ip, bp, r10, orig_ax; };\n"
        "#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n#include <bpf/bpf_core_read.h>\n"
        "#include <bpf/bpf_endian.h>\n"
        "struct { __uint(type, 1); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } m SEC(\".maps\");\n"
        'SEC("kprobe/do_unlinkat") int BPF_KPROBE(k, int dfd, void *name) {\n'
        '  bpf_printk("x %d %d", dfd, bpf_htons(8)); return PT_REGS_PARM1(ctx) + BPF_CORE_READ(ctx, di); }\n'
        'char LICENSE[] SEC("license") = "GPL";\n'
    )
    flags = ["-D__TARGET_ARCH_x86", "-O2"]
    reference = _clang("-E", "-P", *flags, str(source))
    system = ["/usr/local/include", "/usr/include"]
    options = Options(system_dirs=system, defines=[("__TARGET_ARCH_x86", "1")])
    diagnostics = Diagnostics(SourceLines())
    ours = [t.text for t in preprocess(source.read_text(), str(source), options, diagnostics) if t.kind != "pragma"]
    assert ours == _clang_tokens(reference)


def test_cc_command_line(tmp_path: Path) -> None:
    source = tmp_path / "a.c"
    source.write_text("#define X(a) a + 1\nint v = X(2);\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    done = subprocess.run([sys.executable, "-m", "tinybpf", "cc", "-E", "-P", str(source)], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0 and done.stdout.split() == ["int", "v", "=", "2", "+", "1;"]
    source.write_text("#include <nothing.h>\n")
    done = subprocess.run([sys.executable, "-m", "tinybpf", "cc", "-E", str(source)], capture_output=True, text=True, env=env)
    assert done.returncode == 1
    assert done.stderr.splitlines()[0] == f"{source}:1:10: fatal error: 'nothing.h' file not found"
    done = subprocess.run([sys.executable, "-m", "tinybpf", "cc", str(source), "-o", str(tmp_path / "a.o")],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 1 and len(done.stderr.splitlines()) == 1 and "not built yet" in done.stderr
