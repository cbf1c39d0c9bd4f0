/* Shared by the test objects: the kernel's uapi types plus libbpf's helper macros. */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
