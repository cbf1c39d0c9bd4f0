#!/bin/sh
# Rebuild the committed test objects: every *.bpf.c as little-endian (-el) and big-endian (-eb) BPF.
# Pinned to clang 14 (Debian bookworm) so the committed bytes only change when this script does.
# Usage: tests/data/objects/build.sh   (run from anywhere; CLANG=clang-14 by default)
set -eu
cd "$(dirname "$0")"
CLANG="${CLANG:-clang-14}"
MULTIARCH="$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
for source in *.bpf.c; do
	name="${source%.bpf.c}"
	for endian in el eb; do
		"$CLANG" -O2 -g -fdebug-prefix-map="$PWD"=. -target "bpf${endian}" -I"/usr/include/${MULTIARCH}" -c "$source" -o "${name}-${endian}.bpf.o"
	done
done
"$CLANG" -O2 -target i386-linux-gnu -c user32.c -o user32-i386.o
"$CLANG" -O2 -target armebv7-linux-gnueabi -c user32.c -o user32-armeb.o
