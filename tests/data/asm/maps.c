/* Map lookups, helper calls, a bpf-to-bpf call, a loop and a switch. */
typedef unsigned int u32;
typedef unsigned long long u64;

struct map_def { u32 type, key_size, value_size, max_entries, flags; };

__attribute__((section("maps"), used)) struct map_def counts = { 1, 4, 8, 1024, 0 };

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, u64 flags) = (void *)2;
static u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_trace_printk)(const char *fmt, u32 fmt_size, ...) = (void *)6;

static __attribute__((noinline)) u64 mix(u64 x)
{
	for (int i = 0; i < 8; i++)
		x = (x ^ (x >> 7)) * 0x9e3779b97f4a7c15ULL + i;
	return x;
}

__attribute__((section("kprobe/do_sys_open"), used)) int count_opens(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *value = bpf_map_lookup_elem(&counts, &pid);
	if (value) {
		__sync_fetch_and_add(value, 1);
		return 0;
	}
	bpf_map_update_elem(&counts, &pid, &one, 0);
	return 0;
}

__attribute__((section("kprobe/classify"), used)) int classify(unsigned long *ctx)
{
	char fmt[] = "kind %d\n";
	long kind;
	switch (ctx[0] & 7) {
	case 0: kind = 10; break;
	case 1: kind = -3; break;
	case 2: kind = 77; break;
	case 5: kind = (long)mix(ctx[1]); break;
	default: kind = (long)(ctx[2] / 3);
	}
	bpf_trace_printk(fmt, sizeof(fmt), kind);
	return (int)((unsigned long)kind % 5);
}

char _license[] __attribute__((section("license"), used)) = "GPL";
