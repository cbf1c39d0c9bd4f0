/* Programs whose load or attach this kernel may refuse (tp_btf, fentry, lsm, kprobes): they must load where
 * the kernel allows and fail to attach with one line where it does not. */
#include "common.h"

__u64 switches, sleeps, entries, opens;

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

SEC("fentry/do_nanosleep")
int on_nanosleep_entry(__u64 *ctx)
{
	__sync_fetch_and_add(&entries, 1);
	return 0;
}

SEC("lsm/file_open")
int on_file_open(__u64 *ctx)
{
	__sync_fetch_and_add(&opens, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
