#!/bin/sh
# Rebuild the committed armhf test binary; tests never need the cross compiler.
set -e
cd "$(dirname "$0")"
arm-linux-gnueabihf-gcc -O2 -g -o uprobe_target uprobe_target.c
