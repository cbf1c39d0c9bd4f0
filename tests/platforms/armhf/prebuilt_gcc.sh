#!/bin/sh
# "gcc" for bpftrace_conformance.py inside the guest, which has no compiler: it hands out the test programs the
# host cross-built from the same sources (arm-linux-gnueabihf-gcc -g -O0) into /mnt/job/testprogs, and fails
# for anything else, so the tool skips those tests saying it could not build them.
out="" src=""
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out=$2; shift ;;
        *.c) src=$1 ;;
    esac
    shift
done
prebuilt=/mnt/job/testprogs/$(basename "$src" .c)
if [ -z "$out" ] || [ ! -x "$prebuilt" ]; then
    echo "gcc: no cross-built program for ${src:-this input} (the guest has no compiler)" >&2
    exit 1
fi
cp "$prebuilt" "$out"
