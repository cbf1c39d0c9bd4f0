/* Same program name as counters.bpf.c, but the verifier rejects it (reads past the map value). */
#include "../objects/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gauge_last_pid SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int tt_count_openat(void *ctx)
{
	__u32 zero = 0;
	__u64 *value = bpf_map_lookup_elem(&gauge_last_pid, &zero);

	return value ? (int)value[4] : 0;
}

char LICENSE[] SEC("license") = "GPL";
