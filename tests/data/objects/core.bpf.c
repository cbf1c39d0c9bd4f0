/* CO-RE relocations of every kind clang 14 emits, against local (preserve_access_index) kernel types. */
#include "common.h"
#include <bpf/bpf_core_read.h>

struct task_struct___local {
	int pid;
	int tgid;
	char comm[16];
	unsigned int flags;
	struct task_struct___local *parent;
} __attribute__((preserve_access_index));

enum pid_type___local { PIDTYPE_PID___local, PIDTYPE_TGID___local };

struct bits___local {
	unsigned int low : 4;
	unsigned int high : 12;
} __attribute__((preserve_access_index));

extern int LINUX_KERNEL_VERSION __kconfig;

SEC("kprobe/wake_up_new_task")
int probe(struct task_struct___local *task)
{
	struct bits___local *bits = (void *)task;
	int parent_pid = BPF_CORE_READ(task, parent, pid);
	int tgid = BPF_CORE_READ(task, tgid);
	long result = parent_pid + tgid;

	if (bpf_core_field_exists(task->comm))
		result += bpf_core_field_size(task->comm);
	result += bpf_core_type_exists(struct task_struct___local);
	result += bpf_core_type_size(struct task_struct___local);
	result += bpf_core_type_id_kernel(struct task_struct___local);
	result += bpf_core_enum_value_exists(enum pid_type___local, PIDTYPE_TGID___local);
	result += bpf_core_enum_value(enum pid_type___local, PIDTYPE_TGID___local);
	result += BPF_CORE_READ_BITFIELD_PROBED(bits, high);
	result += LINUX_KERNEL_VERSION;
	return result;
}

char LICENSE[] SEC("license") = "GPL";
