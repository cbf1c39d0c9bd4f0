/* A USDT probe without <sys/sdt.h>: the .note.stapsdt note written by hand, as STAP_PROBE2 emits it.
 * tinyprov:tick has two arguments: the constant 7 (-4@$7) and the loop counter in a register. */
#include <unistd.h>
#define PROBE2(prov, name, a, b) __asm__ __volatile__ ( \
  "990: nop\n" \
  ".pushsection .note.stapsdt,\"?\",\"note\"\n" \
  ".balign 4\n" \
  ".4byte 992f-991f, 994f-993f, 3\n" \
  "991: .asciz \"stapsdt\"\n" \
  "992: .balign 4\n" \
  "993: .8byte 990b\n" \
  ".8byte _.stapsdt.base\n" \
  ".8byte 0\n" \
  ".asciz \"" #prov "\"\n" \
  ".asciz \"" #name "\"\n" \
  ".asciz \"-4@$%c0 8@%1\"\n" \
  "994: .balign 4\n" \
  ".popsection\n" \
  ".ifndef _.stapsdt.base\n" \
  ".pushsection .stapsdt.base,\"aG\",\"progbits\",.stapsdt.base,comdat\n" \
  ".weak _.stapsdt.base\n" \
  ".hidden _.stapsdt.base\n" \
  "_.stapsdt.base: .space 1\n" \
  ".size _.stapsdt.base, 1\n" \
  ".popsection\n" \
  ".endif\n" \
  :: "n"(a), "r"(b))
int main(void) {
  for (long i = 0; ; i++) { PROBE2(tinyprov, tick, 7, i); usleep(10000); }
}
