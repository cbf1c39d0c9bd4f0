"""``tinybpf cc``: restricted C compiled to eBPF objects in pure Python, one folder per stage.

``preprocess/`` turns C text into expanded tokens (directives, includes, macros, ``#if``) with
positions that survive expansion; ``syntax/`` parses them into a syntax tree (C11 and the GNU C that
eBPF programs use); ``diagnostics`` renders errors as clang does, several per run.
"""
