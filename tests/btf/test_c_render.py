"""Rendered headers compile with ``clang -target bpf`` and reproduce every size and offset."""
from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from tinybpf.btf import BTF, Struct, Union, kernel_btf, render_c

from .conftest import CLANG, needs_clang, needs_kernel_btf, object_btf


def layout_asserts(btf: BTF, header: str) -> list[str]:
    """``_Static_assert``s on sizeof and offsetof of every named struct/union the header defines."""
    asserts = []
    for t in btf.types():
        if not isinstance(t, (Struct, Union)) or not t.name:
            continue
        keyword = "struct" if isinstance(t, Struct) else "union"
        if f"\n{keyword} {t.name} {{" not in header:
            continue
        asserts.append(f'_Static_assert(sizeof({keyword} {t.name}) == {t.size}, "{t.name}");')
        for member in t.members:
            if member.name and not member.bitfield_size:
                asserts.append(
                    f"_Static_assert(__builtin_offsetof({keyword} {t.name}, {member.name}) == "
                    f'{member.bit_offset // 8}, "{t.name}.{member.name}");'
                )
    return asserts


def compile_bpf(tmp_path: Path, header: str, body: Sequence[str]) -> None:
    assert CLANG is not None
    (tmp_path / "types.h").write_text(header)
    (tmp_path / "use.c").write_text('#include "types.h"\n' + "\n".join(body) + "\n")
    result = subprocess.run(
        [CLANG, "-target", "bpf", "-O2", "-Werror", "-c", "use.c", "-o", "use.o"],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr[-3000:]


def test_object_types_render_in_dependency_order() -> None:
    header = render_c(object_btf("types-el"), ["node"])
    assert header.index("struct flags {") < header.index("struct node {")
    assert "struct node;" in header  # reached through its own `next` pointer first
    assert "} __attribute__((packed));" in header
    assert "unsigned long long d: 33;" in header
    assert "void (*callbacks[2])(struct node *, int);" in header
    assert "typedef int (*logger_t)(const char *, ...);" in header
    assert "\tunion {\n\t\tu64_t as_u64;\n\t\tstruct {\n" in header


@needs_clang
@pytest.mark.parametrize("name", ["types-el", "maps-eb", "core-el"])
def test_object_types_compile(tmp_path: Path, name: str) -> None:
    btf = object_btf(name)
    header = render_c(btf)
    compile_bpf(tmp_path, header, layout_asserts(btf, header))


@needs_clang
@needs_kernel_btf
def test_kernel_types_compile_with_their_layout(tmp_path: Path) -> None:
    btf = kernel_btf()
    header = render_c(btf, ["task_struct", "sk_buff", "trace_event_raw_sys_enter"])
    body = [
        *layout_asserts(btf, header),
        "int read_pid(struct task_struct *task) { return task->pid; }",
        "long first_arg(struct trace_event_raw_sys_enter *ctx) { return ctx->args[0]; }",
        "unsigned int skb_len(struct sk_buff *skb) { return skb->len; }",
    ]
    assert len(body) > 300
    compile_bpf(tmp_path, header, body)


def test_unknown_name_is_a_key_error() -> None:
    with pytest.raises(KeyError, match="no struct, union, enum or typedef named 'nope'"):
        render_c(object_btf("types-el"), ["nope"])
