/* tinybpf's bpf/bpf_helpers.h: the libbpf API a BPF program is written against (sections, map
 * definitions, attributes, helpers, bpf_printk). Written for tinybpf; names and meanings follow libbpf. */
#ifndef __BPF_HELPERS__
#define __BPF_HELPERS__

#include <bpf/bpf_helper_defs.h>

/* BTF-defined maps: the value of each field is encoded in the field's type. */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define __ulong(name, val) enum { ___bpf_concat(__unique_value, __COUNTER__) = val } name

#define SEC(name) __attribute__((section(name), used))

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif
#ifndef __noinline
#define __noinline __attribute__((noinline))
#endif
#ifndef __weak
#define __weak __attribute__((weak))
#endif
#ifndef __hidden
#define __hidden __attribute__((visibility("hidden")))
#endif

/* Externs the loader resolves: kernel symbols and kernel configuration. */
#define __ksym __attribute__((section(".ksyms")))
#define __kconfig __attribute__((section(".kconfig")))
#define __kptr_untrusted __attribute__((btf_type_tag("kptr_untrusted")))
#define __kptr __attribute__((btf_type_tag("kptr")))
#define __percpu_kptr __attribute__((btf_type_tag("percpu_kptr")))
#define __uptr __attribute__((btf_type_tag("uptr")))
#define __contains(name, node) __attribute__((btf_decl_tag("contains:" #name ":" #node)))
#define __arg_ctx __attribute__((btf_decl_tag("arg:ctx")))
#define __arg_nonnull __attribute__((btf_decl_tag("arg:nonnull")))
#define __arg_nullable __attribute__((btf_decl_tag("arg:nullable")))
#define __arg_trusted __attribute__((btf_decl_tag("arg:trusted")))
#define __arg_untrusted __attribute__((btf_decl_tag("arg:untrusted")))
#define __arg_arena __attribute__((btf_decl_tag("arg:arena")))
#define __bpf_fastcall __attribute__((bpf_fastcall))

#ifndef NULL
#define NULL ((void *)0)
#endif
#ifndef KERNEL_VERSION
#define KERNEL_VERSION(a, b, c) (((a) << 16) + ((b) << 8) + ((c) > 255 ? 255 : (c)))
#endif
#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#ifndef container_of
#define container_of(ptr, type, member)                                  \
	({                                                               \
		void *__container_of_ptr = (void *)(ptr);                \
		((type *)(__container_of_ptr - offsetof(type, member))); \
	})
#endif
#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#endif
#ifndef unlikely
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif
#ifndef barrier
#define barrier() asm volatile("" ::: "memory")
#endif
#ifndef barrier_var
#define barrier_var(var) asm volatile("" : "+r"(var))
#endif
#ifndef __bpf_unreachable
#define __bpf_unreachable() __builtin_trap()
#endif

/* A weak __ksym is NULL when the running kernel lacks it. */
#define bpf_ksym_exists(sym) (!!(sym))

/* The legacy map definition of SEC("maps"). */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

enum libbpf_pin_type {
	LIBBPF_PIN_NONE,
	LIBBPF_PIN_BY_NAME,
};

enum libbpf_tristate {
	TRI_NO = 0,
	TRI_YES = 1,
	TRI_MODULE = 2,
};

/* A tail call whose index is a constant: the verifier then knows the target. */
#define bpf_tail_call_static(ctx, map, slot) bpf_tail_call(ctx, map, slot)

/* Counting and spreading variadic arguments (up to 12). */
#define ___bpf_concat(a, b) a ## b
#define ___bpf_apply(fn, n) ___bpf_concat(fn, n)
#define ___bpf_nth(_, _1, _2, _3, _4, _5, _6, _7, _8, _9, _a, _b, _c, N, ...) N
#define ___bpf_narg(...) ___bpf_nth(_, ##__VA_ARGS__, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)

#define ___bpf_fill0(arr, p, x) do {} while (0)
#define ___bpf_fill1(arr, p, x) arr[p] = x
#define ___bpf_fill2(arr, p, x, args...) arr[p] = x; ___bpf_fill1(arr, p + 1, args)
#define ___bpf_fill3(arr, p, x, args...) arr[p] = x; ___bpf_fill2(arr, p + 1, args)
#define ___bpf_fill4(arr, p, x, args...) arr[p] = x; ___bpf_fill3(arr, p + 1, args)
#define ___bpf_fill5(arr, p, x, args...) arr[p] = x; ___bpf_fill4(arr, p + 1, args)
#define ___bpf_fill6(arr, p, x, args...) arr[p] = x; ___bpf_fill5(arr, p + 1, args)
#define ___bpf_fill7(arr, p, x, args...) arr[p] = x; ___bpf_fill6(arr, p + 1, args)
#define ___bpf_fill8(arr, p, x, args...) arr[p] = x; ___bpf_fill7(arr, p + 1, args)
#define ___bpf_fill9(arr, p, x, args...) arr[p] = x; ___bpf_fill8(arr, p + 1, args)
#define ___bpf_fill10(arr, p, x, args...) arr[p] = x; ___bpf_fill9(arr, p + 1, args)
#define ___bpf_fill11(arr, p, x, args...) arr[p] = x; ___bpf_fill10(arr, p + 1, args)
#define ___bpf_fill12(arr, p, x, args...) arr[p] = x; ___bpf_fill11(arr, p + 1, args)
#define ___bpf_fill(arr, args...) ___bpf_apply(___bpf_fill, ___bpf_narg(args))(arr, 0, args)

/* Formatted output: the format is a literal kept in .rodata, the arguments go in an array of u64. */
#define BPF_SEQ_PRINTF(seq, fmt, args...)                                   \
	({                                                                  \
		static const char ___fmt[] = fmt;                           \
		unsigned long long ___param[___bpf_narg(args)];             \
		_Pragma("GCC diagnostic push")                              \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")     \
		___bpf_fill(___param, args);                                \
		_Pragma("GCC diagnostic pop")                               \
		bpf_seq_printf(seq, ___fmt, sizeof(___fmt), ___param, sizeof(___param)); \
	})

#define BPF_SNPRINTF(out, out_size, fmt, args...)                           \
	({                                                                  \
		static const char ___fmt[] = fmt;                           \
		unsigned long long ___param[___bpf_narg(args)];             \
		_Pragma("GCC diagnostic push")                              \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")     \
		___bpf_fill(___param, args);                                \
		_Pragma("GCC diagnostic pop")                               \
		bpf_snprintf(out, out_size, ___fmt, ___param, sizeof(___param)); \
	})

/* bpf_printk: bpf_trace_printk takes three arguments at most; more go through bpf_trace_vprintk. */
#define __bpf_printk(fmt, ...)                                              \
	({                                                                  \
		static const char ____fmt[] = fmt;                          \
		bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__);  \
	})

#define __bpf_vprintk(fmt, args...)                                         \
	({                                                                  \
		static const char ___fmt[] = fmt;                           \
		unsigned long long ___param[___bpf_narg(args)];             \
		_Pragma("GCC diagnostic push")                              \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")     \
		___bpf_fill(___param, args);                                \
		_Pragma("GCC diagnostic pop")                               \
		bpf_trace_vprintk(___fmt, sizeof(___fmt), ___param, sizeof(___param)); \
	})

#define ___bpf_pick_printk(...)                                             \
	___bpf_nth(_, ##__VA_ARGS__, __bpf_vprintk, __bpf_vprintk, __bpf_vprintk, \
		   __bpf_vprintk, __bpf_vprintk, __bpf_vprintk, __bpf_vprintk, __bpf_vprintk, \
		   __bpf_vprintk, __bpf_printk, __bpf_printk, __bpf_printk, __bpf_printk)

#define bpf_printk(fmt, args...) ___bpf_pick_printk(args)(fmt, ##args)

#endif /* __BPF_HELPERS__ */
