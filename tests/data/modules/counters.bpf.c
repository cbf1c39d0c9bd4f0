/* A BumbleBee-style module: map names carry the metric kind (counter_, gauge_), keys become labels. */
#include "../objects/common.h"

struct key_t {
	__u32 uid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct key_t);
	__type(value, __u64);
} counter_openat SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gauge_last_pid SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int tt_count_openat(void *ctx)
{
	struct key_t key = { .uid = (__u32)bpf_get_current_uid_gid() };
	__u32 zero = 0;
	__u64 one = 1, *value, pid = bpf_get_current_pid_tgid() >> 32;

	value = bpf_map_lookup_elem(&counter_openat, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&counter_openat, &key, &one, BPF_NOEXIST);
	bpf_map_update_elem(&gauge_last_pid, &zero, &pid, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
