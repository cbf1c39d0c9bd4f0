/* A program the verifier rejects: the error must name this C line (from line_info). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} values SEC(".maps");

SEC("xdp")
int unchecked(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *value = bpf_map_lookup_elem(&values, &key);

	return *value == 42 ? XDP_DROP : XDP_PASS; /* no NULL check */
}

char LICENSE[] SEC("license") = "GPL";
