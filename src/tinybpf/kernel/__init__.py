"""The kernel interface: the only code in tinybpf that makes syscalls or touches /sys, /proc and bpffs."""
