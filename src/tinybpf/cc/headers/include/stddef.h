/* tinybpf's stddef.h (the compiler's own header, as clang ships one). */
#ifndef __TINYBPF_STDDEF_H
#define __TINYBPF_STDDEF_H
typedef __SIZE_TYPE__ size_t;
typedef __PTRDIFF_TYPE__ ptrdiff_t;
typedef __WCHAR_TYPE__ wchar_t;
typedef struct { long long __ll __attribute__((aligned(8))); } max_align_t;
#ifndef NULL
#define NULL ((void *)0)
#endif
#ifndef offsetof
#define offsetof(type, member) __builtin_offsetof(type, member)
#endif
#endif
