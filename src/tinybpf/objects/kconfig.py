"""The ``.kconfig`` map's value: every ``extern ... __kconfig`` of an object, from the running kernel's config."""
from __future__ import annotations

from typing import Optional, Union

from ..btf.kinds import IntEncoding
from ..btf.types import Int
from ..elf import objspec
from ..elf.objspec import ObjectSpec
from .errors import ObjectError
from .globals import encode_value


def kconfig_bytes(spec: ObjectSpec) -> bytes:
    """The ``.kconfig`` map value: every ``extern ... __kconfig`` at its offset, from the running kernel."""
    from ..kernel.kconfig import kernel_config
    from ..kernel.sysinfo import kernel_version_code

    section = spec.datasecs[objspec.KCONFIG_SECTION]
    data = bytearray(len(section.data))
    config: Optional[dict[str, str]] = None
    for extern in spec.externs.values():
        if extern.kind != objspec.KCONFIG:
            continue
        value: Union[int, bytes, str, None]
        if extern.name == "LINUX_KERNEL_VERSION":
            value = kernel_version_code()
        elif extern.name in ("LINUX_HAS_BPF_COOKIE", "LINUX_HAS_SYSCALL_WRAPPER"):
            value = 1
        elif extern.name.startswith("CONFIG_"):
            if config is None:
                config = kernel_config()
                if config is None and not extern.weak:
                    raise ObjectError(f"{spec.path}: extern {extern.name} needs the kernel config",
                                      "neither /proc/config.gz nor /boot/config-$(uname -r) exists")
            value = (config or {}).get(extern.name)
        else:
            raise ObjectError(f"{spec.path}: unknown kconfig extern {extern.name!r}",
                              "kconfig externs are CONFIG_* and LINUX_KERNEL_VERSION")
        if value is None:
            if extern.weak:
                continue
            raise ObjectError(f"{spec.path}: extern {extern.name} is not set in the kernel config",
                              "declare it __weak to default to 0")
        data[extern.offset:extern.offset + extern.size] = _kconfig_value(spec, extern, value)
    return bytes(data)


def _kconfig_value(spec: ObjectSpec, extern: objspec.Extern, value: Union[int, bytes, str]) -> bytes:
    btf = spec.btf
    what = f"{spec.path}: extern {extern.name}"
    if isinstance(value, int):
        return encode_value(btf, extern.type_id, value, extern.size, what)
    text = str(value)
    t = btf.resolve(extern.type_id) if btf is not None else None
    if text in ("y", "m", "n"):
        number = {"y": 1, "m": 2, "n": 0}[text]
        if isinstance(t, Int) and t.encoding & IntEncoding.BOOL and text == "m":
            raise ObjectError(f"{what}: value 'm' for a bool", "declare it as enum libbpf_tristate")
        return encode_value(btf, extern.type_id, number, extern.size, what)
    if text.startswith('"'):
        raw = text.strip('"').encode()[: extern.size - 1]
        return raw.ljust(extern.size, b"\0")
    try:
        return encode_value(btf, extern.type_id, int(text, 0), extern.size, what)
    except ValueError:
        raise ObjectError(f"{what}: cannot use config value {text!r}") from None


__all__ = ["kconfig_bytes"]
