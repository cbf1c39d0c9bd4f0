/* A map pinned by name: a second load reuses it (LIBBPF_PIN_BY_NAME). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tinybpf_shared SEC(".maps");

SEC("xdp")
int bump(struct xdp_md *ctx)
{
	__u32 key = 1;
	__u64 one = 1, *value = bpf_map_lookup_elem(&tinybpf_shared, &key);

	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&tinybpf_shared, &key, &one, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
