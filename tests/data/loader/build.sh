#!/bin/sh
# Rebuild the loader's committed test objects (little-endian BPF, with BTF and line info).
# Pinned to clang 14 (Debian bookworm) so the committed bytes only change when this script does.
# Usage: tests/data/loader/build.sh   (run from anywhere; CLANG=clang-14 by default)
set -eu
cd "$(dirname "$0")"
CLANG="${CLANG:-clang-14}"
MULTIARCH="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
for source in *.bpf.c; do
	"$CLANG" -O2 -g -fdebug-prefix-map="$PWD"=. -target bpfel -I"/usr/include/${MULTIARCH}" \
		-c "$source" -o "${source%.c}.o"
done
