/* A module with an fentry program: on kernels (or sandboxes) without BPF trampolines it must fail in one line. */
#include "../objects/common.h"

SEC("fentry/do_unlinkat")
int tt_fentry_unlinkat(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
