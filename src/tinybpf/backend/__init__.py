"""What every compiler front end shares: virtual registers allocated over the control-flow graph (``cfg``,
``regalloc``), stack slots and the scratch-map frame, 64-bit constant folding, the peephole pass and
sub-program BTF."""
