#!/bin/bash
# Build a Debian bookworm armhf root filesystem and take Debian's ARMv7 kernel (armmp-lpae, no BTF) from it.
# Output in $1: rootfs.img (ext4), vmlinuz-debian, initrd-debian, versions.txt.
# Runs as root on a Debian host with qemu-user-static registered in binfmt_misc (debootstrap's second stage
# executes armhf binaries).  The guest's PID 1 is /sbin/tinybpf-guest-init: it mounts the pseudo-filesystems
# and the job/src 9p shares, runs /mnt/job/run.sh and powers off; the job's exit status goes to /mnt/job/rc.
set -euo pipefail
OUT=$1; SUITE=bookworm
MIRROR=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
SECURITY=$(awk '/^URIs:/ && $2 ~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}; SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
ROOT=$OUT/root
GUEST_PACKAGES="linux-image-armmp-lpae bpftool iproute2 iputils-ping python3-pytest python3-hypothesis procps"

unmount() { for m in dev sys proc; do mountpoint -q "$ROOT/$m" && umount -l "$ROOT/$m"; done; true; }
trap unmount EXIT
unmount; rm -rf "$ROOT"; mkdir -p "$OUT"

[ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-arm ] || update-binfmts --enable qemu-arm
grep -q enabled /proc/sys/fs/binfmt_misc/qemu-arm

echo "image: debootstrap $SUITE armhf (first stage)"
debootstrap --arch=armhf --foreign --variant=minbase --include=python3,kmod,initramfs-tools,ca-certificates \
    "$SUITE" "$ROOT" "$MIRROR"
echo "image: second stage under qemu-arm"
nice -n 15 chroot "$ROOT" /debootstrap/debootstrap --second-stage

printf 'deb %s %s main\ndeb %s %s-updates main\ndeb %s %s-security main\n' \
    "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SECURITY" "$SUITE" > "$ROOT/etc/apt/sources.list"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The initrd needs only what qemu's virt board boots from: virtio block/9p, ext4.
sed -i 's/^MODULES=.*/MODULES=list/' "$ROOT/etc/initramfs-tools/initramfs.conf"
printf '%s\n' virtio_mmio virtio_pci virtio_blk ext4 9p 9pnet_virtio >> "$ROOT/etc/initramfs-tools/modules"
mount -t proc proc "$ROOT/proc"; mount -t sysfs sys "$ROOT/sys"; mount --bind /dev "$ROOT/dev"
echo "image: guest packages: $GUEST_PACKAGES"
nice -n 15 chroot "$ROOT" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends $GUEST_PACKAGES && apt-get clean"
unmount
rm -f "$ROOT/etc/resolv.conf"; rm -rf "$ROOT"/var/lib/apt/lists/*

echo tinybpf-armhf > "$ROOT/etc/hostname"
cat > "$ROOT/sbin/tinybpf-guest-init" <<'INIT'
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm; mount -t devpts devpts /dev/pts; mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
mount -t bpf bpf /sys/fs/bpf; mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug; mount -t cgroup2 cgroup2 /sys/fs/cgroup
hostname "$(cat /etc/hostname)"; ip link set lo up
modprobe 9pnet_virtio 2>/dev/null; modprobe 9p 2>/dev/null
mkdir -p /mnt/job /mnt/src
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 job /mnt/job
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=loose src /mnt/src
sysctl -qw kernel.printk="1 4 1 7"
cd /root
echo "=====TINYBPF-GUEST-BEGIN====="
sh /mnt/job/run.sh </dev/null 2>&1
rc=$?
echo "=====TINYBPF-GUEST-END rc=$rc====="
echo "$rc" > /mnt/job/rc
sync; umount /mnt/src; umount /mnt/job
echo o > /proc/sysrq-trigger
sleep 10
INIT
chmod 755 "$ROOT/sbin/tinybpf-guest-init"

KV=$(ls "$ROOT/lib/modules" | sort -V | tail -1)
cp "$ROOT/boot/vmlinuz-$KV" "$OUT/vmlinuz-debian"; cp "$ROOT/boot/initrd.img-$KV" "$OUT/initrd-debian"
mkfs.ext4 -q -F -L tinybpf-armhf -d "$ROOT" "$OUT/rootfs.img.new" 2G
mv "$OUT/rootfs.img.new" "$OUT/rootfs.img"
chroot "$ROOT" dpkg-query -W -f '${Package} ${Version}\n' "linux-image-$KV" python3 python3-pytest bpftool \
    > "$OUT/versions.txt" 2>/dev/null || true
rm -rf "$ROOT"
echo "image: done, kernel $KV"
