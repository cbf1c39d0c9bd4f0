/* The smallest useful object: one map, one program, globals in .data/.bss/.rodata, a license. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counter SEC(".maps");

__u64 hits = 0;
__u32 last_pid = 7;
const volatile __u32 target_pid = 0;

SEC("tracepoint/syscalls/sys_enter_openat")
int count_openat(void *ctx)
{
	__u32 key = 0;
	__u32 pid = bpf_get_current_pid_tgid() >> 32;
	__u64 *value;

	if (target_pid && pid != target_pid)
		return 0;
	value = bpf_map_lookup_elem(&counter, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	hits++;
	last_pid = pid;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
