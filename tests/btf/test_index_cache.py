"""The BTF index cache trusts nothing it did not make: no symlinks followed, no foreign or shared directory,
no file whose checksum does not match; a corrupt cache is rebuilt."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tinybpf.btf import index_cache

from .conftest import needs_kernel_btf

INDEX = bytes(range(256)) * 16


def cache_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "tinybpf"
    directory.mkdir(mode=0o700)
    return directory


def test_written_index_reads_back(tmp_path: Path) -> None:
    directory = cache_dir(tmp_path)
    index_cache.write(str(directory), "x.index", INDEX)
    assert index_cache.read(str(directory), "x.index") == INDEX
    assert [p.name for p in directory.iterdir()] == ["x.index"]  # no temporary left behind
    assert (directory / "x.index").stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("offset", [0, 25, 60, -1])
def test_any_flipped_byte_is_caught(tmp_path: Path, offset: int) -> None:
    directory = cache_dir(tmp_path)
    index_cache.write(str(directory), "x.index", INDEX)
    path = directory / "x.index"
    content = bytearray(path.read_bytes())
    content[offset] ^= 1
    path.write_bytes(bytes(content))
    assert index_cache.read(str(directory), "x.index") is None


@pytest.mark.parametrize("content", [b"", b"\0" * 3, INDEX, INDEX[:-1]])
def test_foreign_content_is_ignored(tmp_path: Path, content: bytes) -> None:
    directory = cache_dir(tmp_path)
    (directory / "x.index").write_bytes(content)
    assert index_cache.read(str(directory), "x.index") is None


def test_a_symlink_in_the_cache_is_neither_followed_nor_written_through(tmp_path: Path) -> None:
    directory = cache_dir(tmp_path)
    victim = tmp_path / "victim"
    victim.write_bytes(b"root-only content")
    (directory / "x.index").symlink_to(victim)
    assert index_cache.read(str(directory), "x.index") is None
    index_cache.write(str(directory), "x.index", INDEX)
    assert victim.read_bytes() == b"root-only content"
    assert not (directory / "x.index").is_symlink()
    assert index_cache.read(str(directory), "x.index") == INDEX


def test_a_symlinked_cache_directory_is_refused(tmp_path: Path) -> None:
    real = cache_dir(tmp_path)
    link = tmp_path / "link"
    link.symlink_to(real)
    index_cache.write(str(link), "x.index", INDEX)
    assert list(real.iterdir()) == []


@pytest.mark.parametrize("mode", [0o777, 0o770, 0o702, 0o1777])
def test_a_directory_others_may_write_is_refused(tmp_path: Path, mode: int) -> None:
    directory = cache_dir(tmp_path)
    index_cache.write(str(directory), "x.index", INDEX)
    directory.chmod(mode)
    assert index_cache.read(str(directory), "x.index") is None
    (directory / "x.index").unlink()
    index_cache.write(str(directory), "x.index", INDEX)
    assert list(directory.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a directory to another user")
def test_a_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    directory = cache_dir(tmp_path)
    index_cache.write(str(directory), "x.index", INDEX)
    os.chown(directory, 65534, 65534)  # `sudo -E`: root pointed at a user's ~/.cache
    assert index_cache.read(str(directory), "x.index") is None
    index_cache.write(str(directory), "y.index", INDEX)
    assert not (directory / "y.index").exists()


def test_a_group_writable_file_is_refused(tmp_path: Path) -> None:
    directory = cache_dir(tmp_path)
    index_cache.write(str(directory), "x.index", INDEX)
    (directory / "x.index").chmod(0o620)
    assert index_cache.read(str(directory), "x.index") is None


@needs_kernel_btf
def test_corrupt_kernel_index_is_rebuilt(tmp_path: Path) -> None:
    code = ("from tinybpf.btf import kernel_btf, Kind\n"
            "btf = kernel_btf(); print(btf.member(btf.find('task_struct', Kind.STRUCT), 'pid').bit_offset)\n")
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("TINYBPF_NO_CACHE", None)

    def run() -> str:
        return subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                              text=True).stdout

    good = run()
    [path] = (tmp_path / "tinybpf").iterdir()
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x40  # one offset in the middle now points elsewhere
    path.write_bytes(bytes(content))
    assert run() == good
    assert index_cache.unpack(path.read_bytes()) is not None  # saved again, valid
