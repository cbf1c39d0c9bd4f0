/* A uprobe target for DWARF-based args: parameters of several kinds, a struct only this binary defines. */
#include <unistd.h>

struct Point {
  int x;
  char label[8];
  unsigned short flags : 3;
  long values[2];
};

int __attribute__((noinline)) visit(struct Point *p, const char *name, char c, unsigned long n)
{
  return p->x + name[0] + c + (int)n;
}

int main(void)
{
  struct Point p = { .x = 42, .label = "pt", .flags = 5, .values = { 7, 8 } };
  for (;;) {
    visit(&p, "hello", 'z', 9);
    usleep(50000);
  }
  return 0;
}
