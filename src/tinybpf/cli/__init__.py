"""The ``tinybpf`` command: argument parsing and printing only; the logic lives below."""
