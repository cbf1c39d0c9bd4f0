"""Stage 3 of the C compiler: C types, layouts and constant expressions, and the kernel's types from BTF."""
