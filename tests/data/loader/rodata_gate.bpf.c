/* A branch the verifier rejects, behind a const volatile gate: loads only when .rodata is
 * created BPF_F_RDONLY_PROG and frozen, so the verifier knows the gate and prunes the branch. */
#include "common.h"

const volatile __u32 unchecked_read = 0;   /* 1: take the branch that reads the packet unchecked */
const volatile __u32 answer = 7;

SEC("xdp")
int gated(struct xdp_md *ctx)
{
	if (unchecked_read) {
		unsigned char *data = (unsigned char *)(long)ctx->data;

		return data[0];     /* no bounds check against data_end: "invalid access to packet" */
	}
	return answer == 7 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
