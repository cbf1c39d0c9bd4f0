#!/bin/sh
# Rebuild the committed module test objects (little-endian BPF), pinned to clang 14 like tests/data/objects.
set -eu
cd "$(dirname "$0")"
CLANG="${CLANG:-clang-14}"
MULTIARCH="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
for source in *.bpf.c; do
	"$CLANG" -O2 -g -fdebug-prefix-map="$PWD"=. -target bpfel -I"/usr/include/${MULTIARCH}" -c "$source" -o "${source%.c}.o"
done
