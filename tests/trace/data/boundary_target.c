/* A function of known x86-64 instructions for the uprobe instruction-boundary check: a 10-byte movabs at
 * offsets 0-9, then ret at offset 10. */
__asm__(".text\n.globl known\n.type known, @function\nknown:\n"
        "movabs $0x1122334455667788, %rax\nret\n.size known, .-known\n");

long known(void);

int main(void)
{
    return known() == 0x1122334455667788L ? 0 : 1;
}
