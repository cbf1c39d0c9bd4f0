"""Typed AST to eBPF: one program per probe, the maps it uses and the events it sends."""
