/* CO-RE against the running kernel: BPF_CORE_READ on task_struct, flavours, missing fields, types, enums. */
#include "common.h"

struct task_struct {
	int pid;
	int tgid;
	char comm[16];
	struct task_struct *real_parent;
	unsigned int in_execve : 1;
} __attribute__((preserve_access_index));

struct task_struct___flavour {
	int tgid;
	struct task_struct___flavour *group_leader;
} __attribute__((preserve_access_index));

struct task_struct___missing {
	int tinybpf_no_such_field;
} __attribute__((preserve_access_index));

struct tinybpf_no_such_type { int x; };

enum pid_type { PIDTYPE_PID, PIDTYPE_TGID, PIDTYPE_PGID, PIDTYPE_SID };
enum pid_type___flavour { PIDTYPE_MAX___flavour = 99, PIDTYPE_NOPE___flavour = 100 };

const volatile int target_tgid;

int pid, tgid, parent_tgid, leader_tgid, missing_exists, missing_value = -1;
char comm[16];
__u64 pid_offset, comm_size, pid_signed, task_size, task_exists, no_type_exists;
__u64 task_btf_id, sid_value, max_value, nope_exists, bit_lshift, bit_rshift, bit_offset;

SEC("tp/syscalls/sys_enter_getppid")
int read_task(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct___flavour *flavoured = (void *)task;
	struct task_struct___missing *old = (void *)task;

	if (BPF_CORE_READ(task, tgid) != target_tgid)
		return 0;
	pid = BPF_CORE_READ(task, pid);
	tgid = BPF_CORE_READ(task, tgid);
	parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
	leader_tgid = BPF_CORE_READ(flavoured, group_leader, tgid);
	BPF_CORE_READ_STR_INTO(&comm, task, comm);
	missing_exists = bpf_core_field_exists(old->tinybpf_no_such_field);
	if (bpf_core_field_exists(old->tinybpf_no_such_field))
		missing_value = BPF_CORE_READ(old, tinybpf_no_such_field);
	pid_offset = bpf_core_field_offset(task->pid);
	comm_size = bpf_core_field_size(task->comm);
	pid_signed = __builtin_preserve_field_info(task->pid, BPF_FIELD_SIGNED);
	bit_lshift = __builtin_preserve_field_info(task->in_execve, BPF_FIELD_LSHIFT_U64);
	bit_rshift = __builtin_preserve_field_info(task->in_execve, BPF_FIELD_RSHIFT_U64);
	bit_offset = __builtin_preserve_field_info(task->in_execve, BPF_FIELD_BYTE_OFFSET);
	task_size = bpf_core_type_size(struct task_struct);
	task_exists = bpf_core_type_exists(struct task_struct);
	no_type_exists = bpf_core_type_exists(struct tinybpf_no_such_type);
	task_btf_id = bpf_core_type_id_kernel(struct task_struct);
	sid_value = bpf_core_enum_value(enum pid_type, PIDTYPE_SID);
	max_value = bpf_core_enum_value(enum pid_type___flavour, PIDTYPE_MAX___flavour);
	nope_exists = bpf_core_enum_value_exists(enum pid_type___flavour, PIDTYPE_NOPE___flavour);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
