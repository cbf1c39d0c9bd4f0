/* A small object whose NOBITS .bss claims 1 GiB: the loader must not materialise those bytes. */
#include "common.h"

char huge[1 << 30];
__u32 seen = 1;	/* .data */

SEC("xdp")
int touch(struct xdp_md *ctx)
{
	seen = huge[12345] + 2;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
