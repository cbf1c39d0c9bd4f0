"""``tinybpf trace``: the bpftrace language compiled to eBPF in pure Python.

A pipeline of stages over one AST, one subpackage each: ``syntax`` (source to AST) -> ``semantics`` (types)
-> ``lower`` (instructions over virtual registers, allocated by ``tinybpf.backend``) -> ``runtime`` (attach,
print); ``compiler.compile_trace`` runs them. Import the stage you need; importing this package loads
nothing else.
"""
