"""``tinybpf cc``: restricted C compiled to eBPF objects in pure Python, one folder per stage.

``preprocess/`` turns C text into expanded tokens (directives, includes, macros, ``#if``) with
positions that survive expansion; ``diagnostics`` renders errors as clang does.
"""
