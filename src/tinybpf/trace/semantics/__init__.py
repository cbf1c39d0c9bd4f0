"""What a script means: the type of every expression and map, builtins and functions, C types from BTF and the
script, and the arguments of each probe kind."""
