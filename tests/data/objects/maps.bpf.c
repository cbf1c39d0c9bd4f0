/* Many map kinds and program sections, for the loader's section and map parsing. */
#include "common.h"

struct event {
	__u32 pid;
	__u32 cpu;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct event);
} events_by_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u32);
} inner_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a },
};

static __always_inline void bump(__u32 slot)
{
	__u64 *value = bpf_map_lookup_elem(&stats, &slot);

	if (value)
		*value += 1;
}

SEC("xdp")
int pass_all(struct xdp_md *ctx)
{
	bump(0);
	return XDP_PASS;
}

SEC("tc")
int classify(struct __sk_buff *skb)
{
	bump(1);
	return skb->len > 1500 ? 2 : 0;
}

SEC("kprobe/do_sys_openat2")
int on_open(void *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&ring, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_map_update_elem(&events_by_pid, &e->pid, e, BPF_ANY);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("perf_event")
int on_sample(void *ctx)
{
	struct event e = {};

	e.pid = bpf_get_current_pid_tgid() >> 32;
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &e, sizeof(e));
	bump(2);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
