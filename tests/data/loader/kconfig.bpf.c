/* .kconfig externs from the running kernel's config, and kernel symbol (__ksym) externs. */
#include "common.h"


extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_HZ __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_BPF_JIT __kconfig;
extern char CONFIG_LOCALVERSION[32] __kconfig __weak;
extern int CONFIG_TINYBPF_NOT_A_CONFIG __kconfig __weak;
extern const void schedule __ksym;                 /* untyped ksym: its /proc/kallsyms address */
extern const void tinybpf_no_such_symbol __ksym __weak;
extern void bpf_rcu_read_lock(void) __ksym;         /* kfuncs: called by BTF id */
extern void bpf_rcu_read_unlock(void) __ksym;

__u64 version, hz, syscall_on, jit, missing, schedule_address, missing_sym;
char localversion[32];

SEC("raw_tp/sys_enter")
int read_config(void *ctx)
{
	version = LINUX_KERNEL_VERSION;
	hz = CONFIG_HZ;
	syscall_on = CONFIG_BPF_SYSCALL;
	jit = CONFIG_BPF_JIT;
	missing = CONFIG_TINYBPF_NOT_A_CONFIG;
	__builtin_memcpy(localversion, CONFIG_LOCALVERSION, sizeof(localversion));
	bpf_rcu_read_lock();
	schedule_address = (__u64)&schedule;
	bpf_rcu_read_unlock();
	missing_sym = (__u64)&tinybpf_no_such_symbol;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
