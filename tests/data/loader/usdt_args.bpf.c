/* A libbpf USDT program reading its arguments with BPF_USDT() (usdt.bpf.h): the loader must fill
 * __bpf_usdt_specs for each site and attach it with the spec id as BPF cookie. */
#define __TARGET_ARCH_x86 /* usdt.bpf.h reads struct pt_regs the x86_64 way (the USDT target is x86_64) */
#include "common.h"
#include <stdbool.h>
#include <linux/ptrace.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

__s64 sum, neg_sum, fives, last_u8, calls;

SEC("usdt")
int BPF_USDT(on_tick_args, long i, int neg, unsigned char u8, int five)
{
	sum += i;
	neg_sum += neg;
	last_u8 = u8;
	fives += five;
	calls++;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
