"""The macros a C compiler for ``-target bpf`` defines before reading the first line.

Programs and libbpf's headers test these (``__bpf__``, ``__BYTE_ORDER__``, ``__SIZEOF_LONG__``,
``__BPF_CPU_VERSION__``...), so names and values are clang's for the BPF target: an LP64 machine whose
plain ``char`` is signed, little- or big-endian. tinybpf's compiler also says what it is
(``__tinybpf__``) and, as clang does for GCC, the compiler whose dialect it accepts (``__clang__``).
Floating point is absent: BPF has none.
"""
from __future__ import annotations

from dataclasses import dataclass

CLANG_COMPAT = (18, 0, 0)  # the clang whose BPF dialect and builtins the front end follows

# bits -> (signed type, unsigned type, printf length modifier, constant suffix of the signed type)
_INT_TYPES = {
    8: ("signed char", "unsigned char", "hh", ""),
    16: ("short", "unsigned short", "h", ""),
    32: ("int", "unsigned int", "", ""),
    64: ("long int", "long unsigned int", "l", "L"),
}


@dataclass(frozen=True)
class Target:
    """What the predefined macros depend on: byte order, ``-mcpu`` version and ``-O`` level."""

    big_endian: bool = False
    cpu: int = 3
    optimize: bool = True


def predefined_source(target: Target) -> str:
    """``#define`` lines, preprocessed as the ``<built-in>`` file before the user's source."""
    defines: dict[str, str] = {
        "__STDC__": "1",
        "__STDC_HOSTED__": "1",
        "__STDC_VERSION__": "201710L",
        "__STDC_UTF_16__": "1",
        "__STDC_UTF_32__": "1",
        "__GNUC__": "4",
        "__GNUC_MINOR__": "2",
        "__GNUC_PATCHLEVEL__": "1",
        "__GNUC_STDC_INLINE__": "1",
        "__clang__": "1",
        "__clang_major__": str(CLANG_COMPAT[0]),
        "__clang_minor__": str(CLANG_COMPAT[1]),
        "__clang_patchlevel__": str(CLANG_COMPAT[2]),
        "__llvm__": "1",
        "__tinybpf__": "1",
        "__VERSION__": '"tinybpf cc"',
        "__bpf__": "1",
        "__BPF__": "1",
        "__BPF_CPU_VERSION__": str(target.cpu),
        "__ELF__": "1",
        "_LP64": "1",
        "__LP64__": "1",
        "__CHAR_BIT__": "8",
        "__ORDER_LITTLE_ENDIAN__": "1234",
        "__ORDER_BIG_ENDIAN__": "4321",
        "__ORDER_PDP_ENDIAN__": "3412",
        "__BYTE_ORDER__": "__ORDER_BIG_ENDIAN__" if target.big_endian else "__ORDER_LITTLE_ENDIAN__",
        "__BIG_ENDIAN__" if target.big_endian else "__LITTLE_ENDIAN__": "1",
        "__BIGGEST_ALIGNMENT__": "8",
        "__POINTER_WIDTH__": "64",
        "__BOOL_WIDTH__": "8",
        "__SIZEOF_SHORT__": "2",
        "__SIZEOF_INT__": "4",
        "__SIZEOF_LONG__": "8",
        "__SIZEOF_LONG_LONG__": "8",
        "__SIZEOF_POINTER__": "8",
        "__SIZEOF_SIZE_T__": "8",
        "__SIZEOF_PTRDIFF_T__": "8",
        "__SIZEOF_WCHAR_T__": "4",
        "__SIZEOF_WINT_T__": "4",
        "__SIZEOF_INT128__": "16",
        "__SCHAR_MAX__": "127",
        "__SHRT_MAX__": "32767",
        "__INT_MAX__": "2147483647",
        "__LONG_MAX__": "9223372036854775807L",
        "__LONG_LONG_MAX__": "9223372036854775807LL",
        "__WCHAR_MAX__": "2147483647",
        "__WINT_MAX__": "2147483647",
        "__SIG_ATOMIC_MAX__": "2147483647",
        "__SHRT_WIDTH__": "16",
        "__INT_WIDTH__": "32",
        "__LONG_WIDTH__": "64",
        "__LLONG_WIDTH__": "64",
        "__WCHAR_WIDTH__": "32",
        "__WINT_WIDTH__": "32",
        "__SIG_ATOMIC_WIDTH__": "32",
        "__SIZE_TYPE__": "long unsigned int",
        "__PTRDIFF_TYPE__": "long int",
        "__WCHAR_TYPE__": "int",
        "__WINT_TYPE__": "int",
        "__CHAR16_TYPE__": "unsigned short",
        "__CHAR32_TYPE__": "unsigned int",
        "__USER_LABEL_PREFIX__": "",
        "__FINITE_MATH_ONLY__": "0",
        "__ATOMIC_RELAXED": "0",
        "__ATOMIC_CONSUME": "1",
        "__ATOMIC_ACQUIRE": "2",
        "__ATOMIC_RELEASE": "3",
        "__ATOMIC_ACQ_REL": "4",
        "__ATOMIC_SEQ_CST": "5",
    }
    defines["__OPTIMIZE__" if target.optimize else "__NO_INLINE__"] = "1"
    if target.cpu >= 4:
        for feature in ("LDSX", "MOVSX", "BSWAP", "SDIV_SMOD", "GOTOL", "ST"):
            defines[f"__BPF_FEATURE_{feature}"] = "1"
    for bits, (signed, unsigned, length, suffix) in _INT_TYPES.items():
        smax, umax = (1 << (bits - 1)) - 1, (1 << bits) - 1
        usuffix = "U" + suffix if bits >= 32 else ""  # narrower unsigned types promote to int
        for group in ("", "_LEAST", "_FAST"):
            s, u = f"__INT{group}{bits}", f"__UINT{group}{bits}"
            if group:
                defines[f"{s}_WIDTH__"] = str(bits)
            defines[f"{s}_TYPE__"] = signed
            defines[f"{s}_MAX__"] = f"{smax}{suffix}"
            defines[f"{s}_FMTd__"] = f'"{length}d"'
            defines[f"{s}_FMTi__"] = f'"{length}i"'
            defines[f"{u}_TYPE__"] = unsigned
            defines[f"{u}_MAX__"] = f"{umax}{usuffix}"
            for conversion in "ouxX":
                defines[f"{u}_FMT{conversion}__"] = f'"{length}{conversion}"'
            if not group:
                defines[f"{s}_C_SUFFIX__"] = suffix
                defines[f"{u}_C_SUFFIX__"] = usuffix
    for name, signed_name, unsigned_name in (("MAX", "__INTMAX", "__UINTMAX"), ("PTR", "__INTPTR", "__UINTPTR")):
        defines[f"{signed_name}_TYPE__"] = "long int"
        defines[f"{unsigned_name}_TYPE__"] = "long unsigned int"
        defines[f"{signed_name}_MAX__"] = "9223372036854775807L"
        defines[f"{unsigned_name}_MAX__"] = "18446744073709551615UL"
        defines[f"{signed_name}_WIDTH__"] = "64"
        defines[f"{unsigned_name}_WIDTH__"] = "64"
        defines[f"{signed_name}_FMTd__"] = '"ld"'
        defines[f"{signed_name}_FMTi__"] = '"li"'
        for conversion in "ouxX":
            defines[f"{unsigned_name}_FMT{conversion}__"] = f'"l{conversion}"'
        if name == "MAX":
            defines["__INTMAX_C_SUFFIX__"] = "L"
            defines["__UINTMAX_C_SUFFIX__"] = "UL"
    defines.update({"__SIZE_WIDTH__": "64", "__SIZE_MAX__": "18446744073709551615UL", "__PTRDIFF_WIDTH__": "64",
                    "__PTRDIFF_MAX__": "9223372036854775807L", "__PTRDIFF_FMTd__": '"ld"', "__PTRDIFF_FMTi__": '"li"'})
    for conversion in "ouxX":
        defines[f"__SIZE_FMT{conversion}__"] = f'"l{conversion}"'
    for width in ("BOOL", "CHAR", "CHAR16_T", "CHAR32_T", "WCHAR_T", "SHORT", "INT", "LONG", "LLONG", "POINTER"):
        defines[f"__GCC_ATOMIC_{width}_LOCK_FREE"] = "2"
        defines[f"__CLANG_ATOMIC_{width}_LOCK_FREE"] = "2"
    return "".join(f"#define {name} {value}\n" for name, value in defines.items())
