#!/usr/bin/env python3
"""Build (once) and boot the 32-bit ARM guest that tinybpf's armhf platform tests run in.

Two artefacts, each cached under ``$TINYBPF_CACHE`` (default ``/var/cache/tinybpf``) in a directory named by the
hash of the recipe that makes it, so editing a recipe rebuilds exactly what it describes:

- ``armhf-image-<hash>``: Debian bookworm armhf rootfs plus Debian's own ARMv7 kernel (no BTF), from ``image.sh``;
- ``armhf-kernel-<hash>``: an ARMv7 kernel with BTF cross-built from ``kernel.sh`` and ``kernel.config``.

``run`` boots one of the two kernels under ``qemu-system-arm`` (TCG: no KVM for ARM on x86), shares a host
directory at ``/mnt/src`` over 9p, runs one shell script as root in the guest, streams its output and exits with
its status (124 when the guest never reported one).  The rootfs is a throw-away snapshot.
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, BinaryIO, Optional

HERE = Path(__file__).resolve().parent
KERNELS = ("debian", "btf")
HOST_TOOLS = {
    "image": ("debootstrap", "qemu-arm-static", "mkfs.ext4", "update-binfmts"),
    "kernel": ("arm-linux-gnueabihf-gcc", "pahole", "flex", "bison", "bc"),
    "run": ("qemu-system-arm",),
}
BEGIN, END = "=====TINYBPF-GUEST-BEGIN=====", "=====TINYBPF-GUEST-END"


def cache_root() -> Path:
    return Path(os.environ.get("TINYBPF_CACHE", "/var/cache/tinybpf"))


def recipe_dir(what: str) -> Path:
    """The cache directory of one artefact, named by the content hash of the files that make it."""
    files = ["image.sh"] if what == "image" else ["kernel.sh", "kernel.config"]
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes())
    return cache_root() / f"armhf-{what}-{digest.hexdigest()[:12]}"


def missing_host_tools(*steps: str) -> list[str]:
    """Host programs the given steps need that are not installed; a cached artefact needs no build tools."""
    need = [t for step in steps for t in HOST_TOOLS[step] if shutil.which(t) is None]
    if "kernel" in steps and not Path("/usr/src/linux-source-6.1.tar.xz").exists():
        need.append("linux-source-6.1")
    return need


def built(what: str) -> bool:
    return (recipe_dir(what) / "done").exists()


def build(what: str, wait: Optional[float] = None) -> Path:
    """Build one artefact unless cached; concurrent callers wait on a lock instead of building twice.

    ``wait`` bounds (in seconds) how long to wait for another process's build: ``TimeoutError`` after it.
    """
    out = recipe_dir(what)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        _lock(lock, wait)
        if (out / "done").exists():
            return out
        shutil.rmtree(out, ignore_errors=True)
        work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        script = HERE / ("image.sh" if what == "image" else "kernel.sh")
        started = time.monotonic()
        subprocess.run(["bash", str(script), str(work)], check=True)
        (work / "done").write_text(f"built in {time.monotonic() - started:.0f} s\n")
        work.rename(out)
    return out


def _lock(lock: IO[str], wait: Optional[float]) -> None:
    if wait is None:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"another process is still building {lock.name}") from None
            time.sleep(5)


def qemu_command(kernel: str, job: Path, share: Path, smp: int, mem: int) -> list[str]:
    image = recipe_dir("image")
    if kernel == "debian":
        boot = ["-kernel", str(image / "vmlinuz-debian"), "-initrd", str(image / "initrd-debian")]
    else:
        boot = ["-kernel", str(recipe_dir("kernel") / "vmlinuz-btf")]
    cmdline = "root=/dev/vda rw console=ttyAMA0 quiet loglevel=1 panic=-1 init=/sbin/tinybpf-guest-init"
    return [
        "qemu-system-arm", "-M", "virt", "-cpu", "cortex-a15", "-smp", str(smp), "-m", str(mem),
        *boot, "-append", cmdline,
        "-drive", f"file={image / 'rootfs.img'},if=virtio,format=raw,snapshot=on",
        "-virtfs", f"local,path={job},mount_tag=job,security_model=none,id=job",
        "-virtfs", f"local,path={share},mount_tag=src,security_model=none,id=src",
        "-nic", "none", "-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot",
    ]  # fmt: skip


def run(kernel: str, script: str, share: Path, timeout: float, extra: Optional[dict[str, Path]] = None,
        echo: bool = True) -> tuple[str, int]:
    """Boot ``kernel``, run ``script`` (sh) in the guest; (what it printed, its exit status).

    ``extra`` files or folders are copied into the job share, ``/mnt/job/NAME`` in the guest.
    """
    with tempfile.TemporaryDirectory(prefix="tinybpf-armhf-job.") as tmp:
        job = Path(tmp)
        (job / "run.sh").write_text(script)
        for name, source in (extra or {}).items():
            if source.is_dir():
                shutil.copytree(source, job / name)
            else:
                shutil.copy(source, job / name)
        with open(job / "console.log", "w+b") as console:
            output = _boot(qemu_command(kernel, job, share.resolve(), 2, 1024), console, timeout, echo)
            rc_file = job / "rc"
            if rc_file.exists():
                return output, int(rc_file.read_text().strip() or 124)
            console.seek(0)
            tail = console.read().decode(errors="replace").splitlines()[-30:]
            return output + "\n".join(["armhf guest: no exit status reported; console tail:", *tail]) + "\n", 124


def _boot(command: list[str], console: BinaryIO, timeout: float, echo: bool) -> str:
    """Run qemu until the guest powers off (or ``timeout``); the lines between the guest's markers."""
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=console)
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    inside = False
    lines: list[str] = []
    try:
        for raw in proc.stdout:
            console.write(raw)
            line = raw.decode(errors="replace").rstrip("\r\n")
            if line.startswith(END):
                inside = False
            elif inside:
                lines.append(line)
                if echo:
                    print(line, flush=True)
            elif line.startswith(BEGIN):
                inside = True
            if time.monotonic() > deadline:
                lines.append(f"armhf guest: timed out after {timeout:.0f} s")
                break
    finally:
        proc.kill()
        proc.wait()
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    buildp = sub.add_parser("build", help="build the image and the BTF kernel unless cached")
    buildp.add_argument("what", nargs="*", choices=("image", "kernel"), default=["image", "kernel"])
    sub.add_parser("paths", help="print the cache directories")
    runp = sub.add_parser("run", help="boot the guest and run a shell script in it")
    runp.add_argument("--kernel", choices=KERNELS, default="debian")
    runp.add_argument("--share", type=Path, default=Path.cwd(), help="host directory mounted at /mnt/src")
    runp.add_argument("--timeout", type=float, default=3600)
    runp.add_argument("script", help="shell commands run by /bin/sh in the guest, cwd /root")
    args = parser.parse_args(argv)
    if args.command == "paths":
        print(recipe_dir("image"), recipe_dir("kernel"), sep="\n")
        return 0
    if args.command == "build":
        for what in args.what:
            print(build(what), flush=True)
        return 0
    for what in ("image", "kernel") if args.kernel == "btf" else ("image",):
        build(what)
    return run(args.kernel, args.script, args.share, args.timeout)[1]


if __name__ == "__main__":
    sys.exit(main())
