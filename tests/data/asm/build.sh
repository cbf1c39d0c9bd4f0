#!/bin/sh
# Rebuild the differential-test objects. Pinned to clang 14 (Debian bookworm); the tests never run clang.
set -eu
cd "$(dirname "$0")"
CLANG=${CLANG:-clang-14}
for src in maps alu; do
	for cpu in v1 v2 v3; do
		"$CLANG" -O2 -g -target bpfel -mcpu=$cpu -DCPU_$(echo $cpu | tr v V) -c $src.c -o $src-$cpu-el.o
	done
	"$CLANG" -O2 -g -target bpfeb -mcpu=v3 -DCPU_V3 -c $src.c -o $src-v3-eb.o
done
