"""``tinybpf trace``: the bpftrace language compiled to eBPF in pure Python.

The compiler is a pipeline of passes over one AST, one module per pass: ``lexer`` → ``parser`` (building
``ast`` nodes, reporting through ``diagnostics``) → semantic analysis → code generation → runtime. Import the
pass you need; importing this package loads nothing else.
"""
