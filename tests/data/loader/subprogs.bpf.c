/* Several programs per section, static and global sub-programs shared between them, a bpf_loop callback. */
#include "common.h"

__u64 calls;

static __attribute__((noinline)) int triple(int x)
{
	calls++;
	return 3 * x;
}

__attribute__((noinline)) int add_triple(int a, int b)
{
	return triple(a) + b;
}

static int sum_cb(__u32 index, void *ctx)
{
	*(int *)ctx += index;
	return 0;
}

SEC("xdp")
int first(struct xdp_md *ctx)
{
	return add_triple(1, 1) == 4 ? XDP_PASS : XDP_DROP; /* 2 */
}

SEC("xdp")
int second(struct xdp_md *ctx)
{
	int sum = 0;

	bpf_loop(4, sum_cb, &sum, 0); /* 0+1+2+3 */
	return triple(sum) == 18 ? XDP_TX : XDP_ABORTED; /* 3 */
}

SEC("tc")
int third(struct __sk_buff *skb)
{
	return add_triple(2, triple(1)); /* 3*2 + 3 = 9 */
}

char LICENSE[] SEC("license") = "GPL";
