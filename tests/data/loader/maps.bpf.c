/* One BTF-defined map of each kind the loader handles, including map-in-map and prog-array initialisers. */
#include "common.h"

struct value { __u64 packets; __u64 bytes; };

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, __u32); __type(value, struct value);
	 __uint(map_flags, BPF_F_NO_PREALLOC); } hash SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } array SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u64); } percpu SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 16); __uint(key_size, 8); __uint(value_size, 4); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } ring SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } perf SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 4); __type(value, __u32); } queue SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32);
	 __uint(numa_node, 0); } on_node0 SEC(".maps");

struct inner_map { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); };
struct inner_map inner_a SEC(".maps"), inner_b SEC(".maps");

struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 4); __type(key, __u32);
	 __array(values, struct inner_map); } outer SEC(".maps") = { .values = { [0] = &inner_a, [2] = &inner_b } };

struct { __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS); __uint(max_entries, 4); __type(key, __u32);
	 __array(values, struct inner_map); } outer_hash SEC(".maps");

int tail_target(struct xdp_md *ctx);
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 2); __type(key, __u32);
	 __array(values, int (void *)); } jumps SEC(".maps") = { .values = { [1] = (void *)&tail_target } };

SEC("xdp")
int tail_target(struct xdp_md *ctx)
{
	return XDP_TX;
}

SEC("xdp")
int use_maps(struct xdp_md *ctx)
{
	__u32 zero = 0, two = 2, *slot;
	struct value *v, init = {1, 0};
	void *inner;
	__u64 *counter;

	v = bpf_map_lookup_elem(&hash, &zero);
	if (v)
		v->packets++;
	else
		bpf_map_update_elem(&hash, &zero, &init, BPF_ANY);
	counter = bpf_map_lookup_elem(&array, &zero);
	if (counter)
		*counter += 1;
	inner = bpf_map_lookup_elem(&outer, &two);
	if (inner) {
		slot = bpf_map_lookup_elem(inner, &zero);
		if (slot)
			*slot += 7;
	}
	bpf_tail_call(ctx, &jumps, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
