#!/bin/sh
# Rebuild the committed USDT test binary from its C sources; needs gcc and <sys/sdt.h> (systemtap-sdt-dev).
# usdt_target.c is optimised (register and constant arguments), usdt_guarded.c is not (memory arguments).
# Built with Debian bookworm's gcc 12; the tests read the committed binary, never a rebuilt one.
# Usage: tests/data/usdt/build.sh   (run from anywhere; CC=gcc by default)
set -eu
cd "$(dirname "$0")"
CC="${CC:-gcc}"
"$CC" -O2 -g -fdebug-prefix-map="$PWD"=. -fno-inline -c usdt_target.c -o usdt_target.o
"$CC" -O0 -g -fdebug-prefix-map="$PWD"=. -c usdt_guarded.c -o usdt_guarded.o
"$CC" -pie -o usdt_target usdt_target.o usdt_guarded.o
rm -f usdt_target.o usdt_guarded.o
