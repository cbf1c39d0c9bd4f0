/* BPF-to-BPF calls: static and global subprograms, so func_info has several records per section. */
#include "common.h"

int global_counter = 0;

static __attribute__((noinline)) int add(int a, int b)
{
	return a + b;
}

__attribute__((noinline)) int scale(int value, int factor)
{
	if (factor > 8)
		factor = 8;
	return value * factor;
}

SEC("socket")
int sock_filter(struct __sk_buff *skb)
{
	int n = add(skb->len, 4);

	global_counter = scale(n, 2);
	return n;
}

SEC("raw_tp/sched_switch")
int on_switch(void *ctx)
{
	return add(global_counter, 1);
}

char LICENSE[] SEC("license") = "GPL";
