/* A target for uaddr(): main reads the global first, so its page is present when peek() is probed. */
volatile int answer = 42;

__attribute__((noinline)) int peek(int value) { return value + 1; }

int main(void) { return peek(answer) == 0; }
