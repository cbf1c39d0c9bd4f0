"""The builtins, attributes and language features the C front end implements.

``__has_builtin``, ``__has_attribute`` and ``__has_feature`` answer from these sets, so a header that
tests for a builtin before using it (libbpf's do) takes the path the compiler can really compile.
"""
from __future__ import annotations

BUILTINS = frozenset(
    {
        "__builtin_preserve_access_index",
        "__builtin_preserve_field_info",
        "__builtin_preserve_type_info",
        "__builtin_preserve_enum_value",
        "__builtin_btf_type_id",
        "__builtin_memcpy",
        "__builtin_memset",
        "__builtin_memcmp",
        "__builtin_memmove",
        "__builtin_offsetof",
        "__builtin_expect",
        "__builtin_constant_p",
        "__builtin_types_compatible_p",
        "__builtin_choose_expr",
        "__builtin_unreachable",
        "__builtin_bswap16",
        "__builtin_bswap32",
        "__builtin_bswap64",
        "__builtin_va_start",
        "__builtin_va_end",
        "__builtin_va_arg",
        "__sync_fetch_and_add",
        "__sync_fetch_and_sub",
        "__sync_fetch_and_or",
        "__sync_fetch_and_and",
        "__sync_fetch_and_xor",
        "__sync_lock_test_and_set",
        "__sync_val_compare_and_swap",
        "__sync_bool_compare_and_swap",
        "__atomic_fetch_add",
        "__atomic_fetch_sub",
        "__atomic_fetch_or",
        "__atomic_fetch_and",
        "__atomic_fetch_xor",
        "__atomic_add_fetch",
        "__atomic_sub_fetch",
        "__atomic_exchange_n",
        "__atomic_compare_exchange_n",
        "__atomic_load_n",
        "__atomic_store_n",
    }
)

ATTRIBUTES = frozenset(
    {
        "section", "always_inline", "noinline", "unused", "used", "packed", "aligned",
        "preserve_access_index", "btf_decl_tag", "btf_type_tag", "weak", "noreturn", "const", "pure",
        "deprecated", "warn_unused_result", "fallthrough", "visibility", "format", "cold", "hot",
        "transparent_union", "mode", "address_space", "nonnull", "maybe_unused", "preserve_static_offset",
    }
)

FEATURES = frozenset({"c_alignas", "c_alignof", "c_static_assert", "c_generic_selections", "attribute_preserve_access_index"})
