/* Writes a byte at the fixed address 0x10000000 every 10 ms, 100 times: a target for watchpoint tests. */
#include <sys/mman.h>
#include <unistd.h>
int main(void) {
  volatile char *p = mmap((void *)0x10000000, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  for (int i = 0; i < 100; i++) { p[0] = i; usleep(10000); }
  return 0;
}
