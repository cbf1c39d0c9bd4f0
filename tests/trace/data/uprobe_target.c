/* A deterministic target for uprobe tests: calls add() a known number of times, prints nothing. */
static volatile long sink;

__attribute__((noinline)) long add(long a, long b) { return a + b; }
__attribute__((noinline)) long mul(long a, long b) { return a * b; }
__attribute__((noinline)) void greet(const char *name) { sink += name[0]; }

static const char name[] = "world";

int main(void) {
    long total = 0;
    for (long i = 0; i < 10; i++)
        total += add(i, i % 3);
    total += mul(6, 7);
    greet(name);
    sink = total;
    return 0;
}
