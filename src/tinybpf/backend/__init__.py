"""What every compiler front end shares: registers and stack slots, the scratch-map frame, the peephole pass and
sub-program BTF, turning lowered code into instructions the verifier accepts."""
