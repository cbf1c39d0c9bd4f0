/* TCP congestion controls written in BPF (struct_ops): registered while attached, gone when closed.
 * "tinybpf_link" is a .struct_ops.link map (registered by BPF_LINK_CREATE), "tinybpf_legacy" a .struct_ops map
 * (registered by its map update). The local struct names the kernel members it sets, as libbpf matches them. */
#include "common.h"

struct sock;

struct tcp_congestion_ops {
	__u32 (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked);
	__u32 (*undo_cwnd)(struct sock *sk);
	char name[16];
};

SEC("struct_ops/cc_ssthresh")
__u32 cc_ssthresh(unsigned long long *ctx)
{
	return 2;
}

SEC("struct_ops/cc_cong_avoid")
void cc_cong_avoid(unsigned long long *ctx)
{
}

SEC("struct_ops/cc_undo_cwnd")
__u32 cc_undo_cwnd(unsigned long long *ctx)
{
	return 10;
}

SEC(".struct_ops.link")
struct tcp_congestion_ops tinybpf_link = {
	.ssthresh = (void *)cc_ssthresh,
	.cong_avoid = (void *)cc_cong_avoid,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.name = "tinybpf_link",
};

SEC(".struct_ops")
struct tcp_congestion_ops tinybpf_legacy = {
	.ssthresh = (void *)cc_ssthresh,
	.cong_avoid = (void *)cc_cong_avoid,
	.undo_cwnd = (void *)cc_undo_cwnd,
	.name = "tinybpf_legacy",
};

char LICENSE[] SEC("license") = "GPL";
