"""``tinybpf cc``: restricted C compiled to eBPF objects in pure Python, one folder per stage.

``preprocess/`` turns C text into expanded tokens (directives, includes, macros, ``#if``) with positions
that survive expansion; ``syntax/`` parses them into a syntax tree (C11 and the GNU C that eBPF programs
use); ``semantics/`` gives declarations their C types and clang's layouts, with the kernel's types from
BTF on demand (the virtual vmlinux.h); ``headers/`` holds the headers programs include (tinybpf's own
libbpf API, generated helper declarations, virtual uapi headers); ``emit/`` encodes what the object
carries (program BTF); ``frontend`` runs the stages; ``diagnostics`` renders errors as clang does.
Lowering function bodies to the shared backend comes next.
"""
