/* Shared by the loader's test objects: uapi types plus libbpf's helper macros (Debian's libbpf-dev). */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
