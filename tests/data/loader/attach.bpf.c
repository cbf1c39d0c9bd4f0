/* One program per auto-attach kind that works without kprobes: iter/, perf_event, raw_tp/, uprobe/BIN:func,
 * uprobe.multi/BIN:pattern and a bare usdt (attached with an explicit target). Each counts hits of this
 * test's process only (target_tgid, set before load). */
#include "common.h"

struct seq_file;
struct task_struct {
	int pid;
	int tgid;
	char comm[16];
} __attribute__((preserve_access_index));
struct bpf_iter_meta {
	struct seq_file *seq;
} __attribute__((preserve_access_index));
struct bpf_iter__task {
	struct bpf_iter_meta *meta;
	struct task_struct *task;
} __attribute__((preserve_access_index));

const volatile __u32 target_tgid = 0;
__u64 samples, syscalls, getppid_calls, multi_calls, ticks;

static __always_inline int mine(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

SEC("iter/task")
int list_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (!task || task->tgid != target_tgid || task->pid != task->tgid)
		return 0;
	BPF_SEQ_PRINTF(ctx->meta->seq, "task %d %s\n", task->pid, task->comm);
	return 0;
}

SEC("perf_event")
int on_sample(void *ctx)
{
	__sync_fetch_and_add(&samples, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int on_syscall(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&syscalls, 1);
	return 0;
}

SEC("uprobe/libc.so.6:getppid")
int on_getppid(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&getppid_calls, 1);
	return 0;
}

SEC("uprobe.multi/libc.so.6:getpp*")
int on_getpp_multi(void *ctx)
{
	if (mine())
		__sync_fetch_and_add(&multi_calls, 1);
	return 0;
}

SEC("usdt")
int on_tick(void *ctx)
{
	__sync_fetch_and_add(&ticks, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
