"""Fuzzing the C front end: mutated real programs end in a syntax tree or positioned diagnostics,
never a Python traceback or a hang."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinybpf.cc.diagnostics import CCError
from tinybpf.cc.frontend import check
from tinybpf.cc.preprocess import Options
from tinybpf.cc.preprocess.lexer import tokenize

SEED = r"""
typedef unsigned char __u8; typedef unsigned short __u16; typedef unsigned int __u32; typedef int __s32;
typedef unsigned long long __u64; typedef long long __s64; typedef __u16 __be16; typedef __u32 __be32;
typedef __u32 __wsum;
#include <bpf/bpf_helpers.h>
typedef unsigned int u32; typedef unsigned long long u64;
struct event { u32 pid; char comm[16]; union { u64 a; u32 b[2]; }; unsigned f : 3; };
struct { __uint(type, 1); __uint(max_entries, 64); __type(key, u32); __type(value, struct event); } m SEC(".maps");
enum state { IDLE, BUSY = 4 };
static __always_inline int helper(struct event *e, int n) { return e ? e->pid + n : -1; }
SEC("tracepoint/syscalls/sys_enter_getpid")
int prog(void *ctx) {
    u32 key = 0; struct event *e = bpf_map_lookup_elem(&m, &key);
    int total = 0;
    if (!e) return 0;
    for (int i = 0; i < 8 && i < e->pid; i++) { total += helper(e, i); if (total > 100) break; }
    switch (total & 3) { case 0: total <<= 1; break; case 1 ... 2: total = -total; default: ; }
    e->comm[0] = (char)({ int t = total; t * 2; });
    bpf_printk("total %d %s", total, e->comm);
    return total ?: BUSY;
}
char LICENSE[] SEC("license") = "GPL";
"""
TOKENS = [t.text for t in tokenize(SEED, "seed.c")]
LINES = SEED.split("\n")


def _run(text: str) -> None:
    try:
        check(text, "fuzz.c", Options())
    except CCError as exc:
        assert exc.diagnostics
        first = next(d for d in exc.diagnostics if d.severity in ("error", "fatal error"))
        assert first.loc is not None or "too many errors" in exc.stopped


def test_seed_checks() -> None:
    check(SEED, "seed.c", Options())


@settings(max_examples=int(os.environ.get("TINYBPF_FUZZ_EXAMPLES", "120")), deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["drop", "dup", "swap", "insert"]), st.integers(0, len(TOKENS) - 1),
                          st.sampled_from(["(", ")", "{", "}", ";", ",", "*", "int", "struct", "0", "e", "->", "[", "]",
                                           "#", "\"", "'", "sizeof", "typeof", "__attribute__", "...", "=", "?"])),
                min_size=1, max_size=6))
def test_mutated_tokens(mutations: list[tuple[str, int, str]]) -> None:
    tokens = list(TOKENS)
    for action, index, extra in mutations:
        index %= max(len(tokens), 1)
        if action == "drop" and tokens:
            del tokens[index]
        elif action == "dup":
            tokens.insert(index, tokens[index])
        elif action == "swap" and index + 1 < len(tokens):
            tokens[index], tokens[index + 1] = tokens[index + 1], tokens[index]
        else:
            tokens.insert(index, extra)
    _run(" ".join(tokens).replace("# include", "\n#include").replace("#include", "\n#include", 1))


@settings(max_examples=int(os.environ.get("TINYBPF_FUZZ_EXAMPLES", "120")), deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(0, len(LINES) - 1), st.integers(0, len(LINES) - 1)), min_size=1, max_size=4))
def test_mutated_lines(swaps: list[tuple[int, int]]) -> None:
    lines = list(LINES)
    for a, b in swaps:
        lines[a], lines[b] = lines[b], lines[a]
    _run("\n".join(lines))
