/* tinybpf's stdarg.h (BPF functions take no variable arguments; headers still name va_list). */
#ifndef __TINYBPF_STDARG_H
#define __TINYBPF_STDARG_H
typedef __builtin_va_list va_list;
#define va_start(ap, param) __builtin_va_start(ap, param)
#define va_end(ap) __builtin_va_end(ap)
#define va_arg(ap, type) __builtin_va_arg(ap, type)
#endif
