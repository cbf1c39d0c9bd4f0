/* A USDT test target: probes with and without a semaphore, and a variable for watchpoints.
 *
 * Usage: usdt_target N
 * Prints "<&watched> <&tinybpf_guarded_semaphore>" and waits for a line on stdin (attach now). Then runs N
 * iterations, each hitting tinybpf:tick(i, (int)-i, (unsigned char)i, 5) and tinybpf:twice(i), writing
 * `watched`, and hitting tinybpf:guarded(i * 3) only while the semaphore is set. After the loop it hits
 * tinybpf:twice(N + 1000) at a second site and tinybpf:done, prints the number of guarded hits and waits
 * for a second line (detach now) before it exits, so a test can look at the semaphore while it is alive.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

#include "usdt_guarded.h"

volatile long watched;

__attribute__((noinline)) static void tick(long i)
{
	DTRACE_PROBE4(tinybpf, tick, i, (int)-i, (unsigned char)i, 5);
	DTRACE_PROBE1(tinybpf, twice, i);
	watched = i;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10;
	char line[16];
	long guarded = 0;

	printf("%p %p\n", (void *)&watched, (void *)&tinybpf_guarded_semaphore);
	fflush(stdout);
	if (!fgets(line, sizeof line, stdin))
		return 1;
	for (long i = 0; i < n; i++) {
		tick(i);
		guarded += fire_guarded(i * 3);
	}
	DTRACE_PROBE1(tinybpf, twice, n + 1000);
	DTRACE_PROBE(tinybpf, done);
	printf("%ld\n", guarded);
	fflush(stdout);
	if (!fgets(line, sizeof line, stdin))
		return 1;
	return 0;
}
