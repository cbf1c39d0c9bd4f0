/* A ~100 KB module for the pull+verify+load benchmark: the counters program plus a large read-only table. */
#include "../objects/common.h"

const volatile __u8 table[96 * 1024] = { 1 };

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gauge_seen SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int bench_big_openat(void *ctx)
{
	__u32 zero = 0;
	__u64 value = table[bpf_get_prandom_u32() & 1023];

	bpf_map_update_elem(&gauge_seen, &zero, &value, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
