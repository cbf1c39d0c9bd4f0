#!/bin/bash
# Cross-build an ARMv7 kernel with BTF from Debian's linux-source-6.1 (the same patch level as the Debian guest
# kernel) for qemu's virt board: allnoconfig plus kernel.config, every line of which must survive olddefconfig.
# Output in $1: vmlinuz-btf (zImage), config-btf.  Needs linux-source-6.1, gcc-arm-linux-gnueabihf, dwarves.
set -euo pipefail
OUT=$1; HERE=$(cd "$(dirname "$0")" && pwd); BUILD=$OUT/kbuild; JOBS=${JOBS:-$(nproc)}
mkdir -p "$BUILD"
[ -f "$BUILD/src/Makefile" ] || { mkdir -p "$BUILD/src"; tar -C "$BUILD/src" --strip-components=1 -xf /usr/src/linux-source-6.1.tar.xz; }
grep -v '^#' "$HERE/kernel.config" > "$BUILD/fragment"
make=(make -C "$BUILD/src" O="$BUILD/out" ARCH=arm CROSS_COMPILE=arm-linux-gnueabihf-)
"${make[@]}" -s KCONFIG_ALLCONFIG="$BUILD/fragment" allnoconfig
missing=0
while IFS= read -r line; do
    key=${line%%=*}
    if [ "${line#*=}" = n ]; then grep -q "^$key=" "$BUILD/out/.config" && { echo "kernel: still set: $line"; missing=1; }
    else grep -qx "$line" "$BUILD/out/.config" || { echo "kernel: not set: $line"; missing=1; }; fi
done < "$BUILD/fragment"
[ "$missing" = 0 ] || { echo "kernel: kernel.config did not apply" >&2; exit 1; }
echo "kernel: make -j$JOBS zImage"
nice -n 19 "${make[@]}" -s -j"$JOBS" zImage
cp "$BUILD/out/arch/arm/boot/zImage" "$OUT/vmlinuz-btf"; cp "$BUILD/out/.config" "$OUT/config-btf"
rm -rf "$BUILD"
echo "kernel: done"
