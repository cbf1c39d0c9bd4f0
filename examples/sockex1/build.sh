#!/bin/sh
# Rebuild the committed sockex1 objects (clang 14, little-endian BPF, with BTF).
# Usage: examples/sockex1/build.sh   (CLANG=clang-14 by default)
set -eu
cd "$(dirname "$0")"
CLANG="${CLANG:-clang-14}"
MULTIARCH="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
for source in sockex1_kern.c sockex1_kern_btf.c; do
	"$CLANG" -O2 -g -fdebug-prefix-map="$PWD"=. -target bpfel -I"/usr/include/${MULTIARCH}" \
		-c "$source" -o "${source%.c}.o"
done
