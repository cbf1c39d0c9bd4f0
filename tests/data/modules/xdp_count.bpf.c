/* An XDP module: counts packets and passes them; its link can be updated in place (BPF_LINK_UPDATE). */
#include "../objects/common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counter_packets SEC(".maps");

SEC("xdp")
int tt_xdp_count(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *value = bpf_map_lookup_elem(&counter_packets, &zero);

	if (value)
		__sync_fetch_and_add(value, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
