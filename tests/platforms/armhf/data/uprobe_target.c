/* A 32-bit ARM test binary: one function in ARM state and one in Thumb state (its symbol has bit 0 set),
 * each called once with the numbers given on the command line, so a uprobe's arguments and a uretprobe's
 * return value can be checked (and a uprobe on Thumb code refused: 32-bit ARM kernels cannot place one); main,
 * in ARM state, holds a USDT probe whose arguments gcc writes in arm32 operand syntax.
 * Rebuild with ./build.sh (arm-linux-gnueabihf-gcc and systemtap-sdt-dev's <sys/sdt.h>). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/sdt.h>

struct pair { int first, second; };

__attribute__((target("arm"), noinline)) int arm_add(int a, int b) { return a + b; }

__attribute__((target("thumb"), noinline)) int thumb_mul(int a, int b) { return a * b; }

__attribute__((target("arm"))) int main(int argc, char **argv) {
    int a = argc > 1 ? atoi(argv[1]) : 3, b = argc > 2 ? atoi(argv[2]) : 4;
    struct pair p = { a, b };
    volatile struct pair *v = &p;
    DTRACE_PROBE3(tinybpf, pair, v->first, v->second, &p.second);
    printf("%d %d\n", arm_add(a, b), thumb_mul(a, b));
    return 0;
}
