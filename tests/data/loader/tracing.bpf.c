/* Programs whose load or attach this kernel may refuse (BTF-attached tracing, kprobes): they must load where
 * the kernel allows and fail to attach with one line where it does not. */
#include "common.h"

__u64 switches, sleeps;

SEC("tp_btf/sched_switch")
int on_switch(__u64 *ctx)
{
	__sync_fetch_and_add(&switches, 1);
	return 0;
}

SEC("kprobe/do_nanosleep")
int on_nanosleep(void *ctx)
{
	__sync_fetch_and_add(&sleeps, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
