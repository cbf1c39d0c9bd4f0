/* Legacy map definitions (struct bpf_map_def in SEC("maps")) and a libbpf 0.x sloppy section name. */
#include "common.h"

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") counts = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

struct bpf_map_def SEC("maps") seen = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 16,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("socket_counter")
int count(struct __sk_buff *skb)
{
	__u32 key = 1;
	__u64 *value = bpf_map_lookup_elem(&counts, &key);

	if (value)
		__sync_fetch_and_add(value, 1);
	bpf_map_update_elem(&seen, &key, &key, BPF_ANY);
	return 0;
}

char _license[] SEC("license") = "GPL";
__u32 _version SEC("version") = 0x060000;
