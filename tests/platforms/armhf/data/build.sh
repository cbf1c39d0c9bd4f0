#!/bin/sh
# Rebuild the committed armhf test binary; tests never need the cross compiler.
# <sys/sdt.h> is architecture-neutral but Debian installs it under the host's multiarch folder.
set -e
cd "$(dirname "$0")"
include=$(mktemp -d)
trap 'rm -rf "$include"' EXIT
mkdir "$include/sys"
cp /usr/include/*-linux-gnu/sys/sdt.h /usr/include/*-linux-gnu/sys/sdt-config.h "$include/sys/"
arm-linux-gnueabihf-gcc -O2 -g -I"$include" -o uprobe_target uprobe_target.c
