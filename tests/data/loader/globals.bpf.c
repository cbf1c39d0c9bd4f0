/* Global data in every section kind: .rodata (set from Python before load), .data, .bss, custom sections. */
#include "common.h"

const volatile __u32 factor = 3;                 /* .rodata: frozen at load, written before it */
const volatile char greeting[16] = "hello";      /* .rodata char array */
const volatile __s64 negative = -5;
__u64 data_value = 14;                           /* .data */
__u64 result;                                    /* .bss */
__s32 signed_result;
__u32 history[4];                                /* .bss array */
__u64 custom_counter SEC(".data.counters") = 100; /* custom .data.* section */
const volatile __u32 custom_limit SEC(".rodata.limits") = 9;
static __u32 static_hits;                        /* static: a section-symbol relocation */

SEC("xdp")
int compute(struct xdp_md *ctx)
{
	result = factor * data_value;
	signed_result = (__s32)negative * (__s32)factor;
	history[static_hits & 3] = greeting[0];
	static_hits++;
	custom_counter += custom_limit;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
