/* tinybpf's bpf/bpf_core_read.h: CO-RE reads. Every field access here goes through
 * __builtin_preserve_access_index or __builtin_preserve_field_info, so the compiler records a
 * relocation and the loader fixes the offset for the kernel it runs on. */
#ifndef __BPF_CORE_READ_H__
#define __BPF_CORE_READ_H__

enum bpf_field_info_kind {
	BPF_FIELD_BYTE_OFFSET = 0,
	BPF_FIELD_BYTE_SIZE = 1,
	BPF_FIELD_EXISTS = 2,
	BPF_FIELD_SIGNED = 3,
	BPF_FIELD_LSHIFT_U64 = 4,
	BPF_FIELD_RSHIFT_U64 = 5,
};

enum bpf_type_id_kind {
	BPF_TYPE_ID_LOCAL = 0,
	BPF_TYPE_ID_TARGET = 1,
};

enum bpf_type_info_kind {
	BPF_TYPE_EXISTS = 0,
	BPF_TYPE_SIZE = 1,
	BPF_TYPE_MATCHES = 2,
};

enum bpf_enum_value_kind {
	BPF_ENUMVAL_EXISTS = 0,
	BPF_ENUMVAL_VALUE = 1,
};

#define __CORE_RELO(src, field, info) __builtin_preserve_field_info((src)->field, BPF_FIELD_##info)

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define __CORE_BITFIELD_PROBE_READ(dst, src, fld)                                \
	bpf_probe_read_kernel((void *)dst, __CORE_RELO(src, fld, BYTE_SIZE),     \
			      (const void *)src + __CORE_RELO(src, fld, BYTE_OFFSET))
#else
/* On big-endian the bytes of a narrower field belong at the end of the 8-byte value. */
#define __CORE_BITFIELD_PROBE_READ(dst, src, fld)                                \
	bpf_probe_read_kernel((void *)dst + (8 - __CORE_RELO(src, fld, BYTE_SIZE)), \
			      __CORE_RELO(src, fld, BYTE_SIZE),                  \
			      (const void *)src + __CORE_RELO(src, fld, BYTE_OFFSET))
#endif

/* A bitfield read with bpf_probe_read_kernel, for programs that may not dereference kernel memory. */
#define BPF_CORE_READ_BITFIELD_PROBED(s, field)                                  \
	({                                                                       \
		unsigned long long __tb_val = 0;                                 \
		__CORE_BITFIELD_PROBE_READ(&__tb_val, s, field);                 \
		__tb_val <<= __CORE_RELO(s, field, LSHIFT_U64);                  \
		if (__CORE_RELO(s, field, SIGNED))                               \
			__tb_val = ((long long)__tb_val) >> __CORE_RELO(s, field, RSHIFT_U64); \
		else                                                             \
			__tb_val = __tb_val >> __CORE_RELO(s, field, RSHIFT_U64); \
		__tb_val;                                                        \
	})

/* A bitfield read by direct load, for programs whose context the verifier lets them dereference. */
#define BPF_CORE_READ_BITFIELD(s, field)                                         \
	({                                                                       \
		const void *__tb_p = (const void *)s + __CORE_RELO(s, field, BYTE_OFFSET); \
		unsigned long long __tb_val;                                     \
		switch (__CORE_RELO(s, field, BYTE_SIZE)) {                      \
		case 1: __tb_val = *(const unsigned char *)__tb_p; break;        \
		case 2: __tb_val = *(const unsigned short *)__tb_p; break;       \
		case 4: __tb_val = *(const unsigned int *)__tb_p; break;         \
		case 8: __tb_val = *(const unsigned long long *)__tb_p; break;   \
		default: __tb_val = 0; break;                                    \
		}                                                                \
		__tb_val <<= __CORE_RELO(s, field, LSHIFT_U64);                  \
		if (__CORE_RELO(s, field, SIGNED))                               \
			__tb_val = ((long long)__tb_val) >> __CORE_RELO(s, field, RSHIFT_U64); \
		else                                                             \
			__tb_val = __tb_val >> __CORE_RELO(s, field, RSHIFT_U64); \
		__tb_val;                                                        \
	})

/* Argument counting shared by the macros below (up to 10 accessors). */
#define __tb_cat(a, b) a ## b
#define __tb_pick(fn, n) __tb_cat(fn, n)
#define __tb_nth(_, _1, _2, _3, _4, _5, _6, _7, _8, _9, _10, N, ...) N
#define __tb_count(...) __tb_nth(_, ##__VA_ARGS__, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)

/* bpf_core_field_*(field) or bpf_core_field_*(type, field) */
#define __tb_field_ref1(field) (field)
#define __tb_field_ref2(type, field) (((typeof(type) *)0)->field)
#define __tb_field_ref(args...) __tb_pick(__tb_field_ref, __tb_count(args))(args)

#define bpf_core_field_exists(field...) __builtin_preserve_field_info(__tb_field_ref(field), BPF_FIELD_EXISTS)
#define bpf_core_field_size(field...) __builtin_preserve_field_info(__tb_field_ref(field), BPF_FIELD_BYTE_SIZE)
#define bpf_core_field_offset(field...) __builtin_preserve_field_info(__tb_field_ref(field), BPF_FIELD_BYTE_OFFSET)
#define bpf_core_field_signed(field...) __builtin_preserve_field_info(__tb_field_ref(field), BPF_FIELD_SIGNED)

#define __tb_typeof(type) ((typeof(type) *)0)
#define bpf_core_type_id_local(type) __builtin_btf_type_id(*__tb_typeof(type), BPF_TYPE_ID_LOCAL)
#define bpf_core_type_id_kernel(type) __builtin_btf_type_id(*__tb_typeof(type), BPF_TYPE_ID_TARGET)
#define bpf_core_type_exists(type) __builtin_preserve_type_info(*__tb_typeof(type), BPF_TYPE_EXISTS)
#define bpf_core_type_matches(type) __builtin_preserve_type_info(*__tb_typeof(type), BPF_TYPE_MATCHES)
#define bpf_core_type_size(type) __builtin_preserve_type_info(*__tb_typeof(type), BPF_TYPE_SIZE)
#define bpf_core_enum_value_exists(enum_type, enum_value) \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enum_value, BPF_ENUMVAL_EXISTS)
#define bpf_core_enum_value(enum_type, enum_value) \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enum_value, BPF_ENUMVAL_VALUE)

#define bpf_core_cast(ptr, type) ((typeof(type) *)bpf_rdonly_cast((ptr), bpf_core_type_id_kernel(type)))

/* One relocatable read of sz bytes at src (an address computed from a field access). */
#define bpf_core_read(dst, sz, src) \
	bpf_probe_read_kernel(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_user(dst, sz, src) \
	bpf_probe_read_user(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_str(dst, sz, src) \
	bpf_probe_read_kernel_str(dst, sz, (const void *)__builtin_preserve_access_index(src))
#define bpf_core_read_user_str(dst, sz, src) \
	bpf_probe_read_user_str(dst, sz, (const void *)__builtin_preserve_access_index(src))

/* Chains of reads: s->f1->f2...; every step but the last reads a pointer with pfn, the last reads the
 * value with fn. */
#define __tb_step(fn, dst, type, ptr, field) fn((void *)(dst), sizeof(*(dst)), &((type)(ptr))->field)
#define __tb_read1(fn, pfn, dst, s, f1) \
	__tb_step(fn, dst, typeof(s), s, f1);
#define __tb_read2(fn, pfn, dst, s, f1, f2) \
	const void *__tb_t; \
	__tb_step(pfn, &__tb_t, typeof(s), s, f1); \
	__tb_step(fn, dst, typeof((s)->f1), __tb_t, f2);
#define __tb_read3(fn, pfn, dst, s, f1, f2, f3) \
	const void *__tb_t; \
	__tb_step(pfn, &__tb_t, typeof(s), s, f1); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1), __tb_t, f2); \
	__tb_step(fn, dst, typeof((s)->f1->f2), __tb_t, f3);
#define __tb_read4(fn, pfn, dst, s, f1, f2, f3, f4) \
	const void *__tb_t; \
	__tb_step(pfn, &__tb_t, typeof(s), s, f1); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1), __tb_t, f2); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2), __tb_t, f3); \
	__tb_step(fn, dst, typeof((s)->f1->f2->f3), __tb_t, f4);
#define __tb_read5(fn, pfn, dst, s, f1, f2, f3, f4, f5) \
	const void *__tb_t; \
	__tb_step(pfn, &__tb_t, typeof(s), s, f1); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1), __tb_t, f2); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2), __tb_t, f3); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3), __tb_t, f4); \
	__tb_step(fn, dst, typeof((s)->f1->f2->f3->f4), __tb_t, f5);
#define __tb_read6(fn, pfn, dst, s, f1, f2, f3, f4, f5, f6) \
	const void *__tb_t; \
	__tb_step(pfn, &__tb_t, typeof(s), s, f1); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1), __tb_t, f2); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2), __tb_t, f3); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3), __tb_t, f4); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3->f4), __tb_t, f5); \
	__tb_step(fn, dst, typeof((s)->f1->f2->f3->f4->f5), __tb_t, f6);
#define __tb_read7(fn, pfn, dst, s, f1, f2, f3, f4, f5, f6, f7) \
	const void *__tb_t; \
	__tb_step(pfn, &__tb_t, typeof(s), s, f1); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1), __tb_t, f2); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2), __tb_t, f3); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3), __tb_t, f4); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3->f4), __tb_t, f5); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3->f4->f5), __tb_t, f6); \
	__tb_step(fn, dst, typeof((s)->f1->f2->f3->f4->f5->f6), __tb_t, f7);
#define __tb_read8(fn, pfn, dst, s, f1, f2, f3, f4, f5, f6, f7, f8) \
	const void *__tb_t; \
	__tb_step(pfn, &__tb_t, typeof(s), s, f1); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1), __tb_t, f2); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2), __tb_t, f3); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3), __tb_t, f4); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3->f4), __tb_t, f5); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3->f4->f5), __tb_t, f6); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3->f4->f5->f6), __tb_t, f7); \
	__tb_step(fn, dst, typeof((s)->f1->f2->f3->f4->f5->f6->f7), __tb_t, f8);
#define __tb_read9(fn, pfn, dst, s, f1, f2, f3, f4, f5, f6, f7, f8, f9) \
	const void *__tb_t; \
	__tb_step(pfn, &__tb_t, typeof(s), s, f1); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1), __tb_t, f2); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2), __tb_t, f3); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3), __tb_t, f4); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3->f4), __tb_t, f5); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3->f4->f5), __tb_t, f6); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3->f4->f5->f6), __tb_t, f7); \
	__tb_step(pfn, &__tb_t, typeof((s)->f1->f2->f3->f4->f5->f6->f7), __tb_t, f8); \
	__tb_step(fn, dst, typeof((s)->f1->f2->f3->f4->f5->f6->f7->f8), __tb_t, f9);

#define __tb_chain1(a1) a1
#define __tb_chain2(a1, a2) a1->a2
#define __tb_chain3(a1, a2, a3) a1->a2->a3
#define __tb_chain4(a1, a2, a3, a4) a1->a2->a3->a4
#define __tb_chain5(a1, a2, a3, a4, a5) a1->a2->a3->a4->a5
#define __tb_chain6(a1, a2, a3, a4, a5, a6) a1->a2->a3->a4->a5->a6
#define __tb_chain7(a1, a2, a3, a4, a5, a6, a7) a1->a2->a3->a4->a5->a6->a7
#define __tb_chain8(a1, a2, a3, a4, a5, a6, a7, a8) a1->a2->a3->a4->a5->a6->a7->a8
#define __tb_chain9(a1, a2, a3, a4, a5, a6, a7, a8, a9) a1->a2->a3->a4->a5->a6->a7->a8->a9
#define __tb_chain10(a1, a2, a3, a4, a5, a6, a7, a8, a9, a10) a1->a2->a3->a4->a5->a6->a7->a8->a9->a10
#define __tb_chain(...) __tb_pick(__tb_chain, __tb_count(__VA_ARGS__))(__VA_ARGS__)
#define __tb_reads(fn, pfn, dst, src, a, ...) \
	__tb_pick(__tb_read, __tb_count(a, ##__VA_ARGS__))(fn, pfn, dst, (src), a, ##__VA_ARGS__)

#define BPF_CORE_READ_INTO(dst, src, a, ...) ({ __tb_reads(bpf_core_read, bpf_core_read, dst, src, a, ##__VA_ARGS__) })
#define BPF_CORE_READ_USER_INTO(dst, src, a, ...) \
	({ __tb_reads(bpf_core_read_user, bpf_core_read_user, dst, src, a, ##__VA_ARGS__) })
#define BPF_PROBE_READ_INTO(dst, src, a, ...) \
	({ __tb_reads(bpf_probe_read_kernel, bpf_probe_read_kernel, dst, src, a, ##__VA_ARGS__) })
#define BPF_PROBE_READ_USER_INTO(dst, src, a, ...) \
	({ __tb_reads(bpf_probe_read_user, bpf_probe_read_user, dst, src, a, ##__VA_ARGS__) })
#define BPF_CORE_READ_STR_INTO(dst, src, a, ...) \
	({ __tb_reads(bpf_core_read_str, bpf_core_read, dst, src, a, ##__VA_ARGS__) })
#define BPF_CORE_READ_USER_STR_INTO(dst, src, a, ...) \
	({ __tb_reads(bpf_core_read_user_str, bpf_core_read_user, dst, src, a, ##__VA_ARGS__) })
#define BPF_PROBE_READ_STR_INTO(dst, src, a, ...) \
	({ __tb_reads(bpf_probe_read_kernel_str, bpf_probe_read_kernel, dst, src, a, ##__VA_ARGS__) })
#define BPF_PROBE_READ_USER_STR_INTO(dst, src, a, ...) \
	({ __tb_reads(bpf_probe_read_user_str, bpf_probe_read_user, dst, src, a, ##__VA_ARGS__) })

/* The value at the end of the chain, e.g. BPF_CORE_READ(task, real_parent, tgid). */
#define BPF_CORE_READ(src, a, ...) \
	({ typeof(__tb_chain((src), a, ##__VA_ARGS__)) __tb_r; BPF_CORE_READ_INTO(&__tb_r, (src), a, ##__VA_ARGS__); __tb_r; })
#define BPF_CORE_READ_USER(src, a, ...) \
	({ typeof(__tb_chain((src), a, ##__VA_ARGS__)) __tb_r; BPF_CORE_READ_USER_INTO(&__tb_r, (src), a, ##__VA_ARGS__); __tb_r; })
#define BPF_PROBE_READ(src, a, ...) \
	({ typeof(__tb_chain((src), a, ##__VA_ARGS__)) __tb_r; BPF_PROBE_READ_INTO(&__tb_r, (src), a, ##__VA_ARGS__); __tb_r; })
#define BPF_PROBE_READ_USER(src, a, ...) \
	({ typeof(__tb_chain((src), a, ##__VA_ARGS__)) __tb_r; BPF_PROBE_READ_USER_INTO(&__tb_r, (src), a, ##__VA_ARGS__); __tb_r; })

#endif /* __BPF_CORE_READ_H__ */
