#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

#include "usdt_guarded.h"

/* The kernel adds 1 here for every uprobe attached with this ref_ctr_offset and subtracts it on detach. */
__attribute__((section(".probes"))) volatile unsigned short tinybpf_guarded_semaphore;

/* Compiled at -O0: the argument is a frame-pointer-relative memory operand (-8@-8(%rbp)), not a register. */
int fire_guarded(long value)
{
	long copy = value;

	if (!tinybpf_guarded_semaphore)
		return 0;
	DTRACE_PROBE1(tinybpf, guarded, copy);
	return 1;
}
