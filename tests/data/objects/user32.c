/* A user-space compilation unit built as 32-bit ELF (i386 little-endian, ARM big-endian) for the ELF32 paths:
 * REL relocations with 8-bit types, Elf32_Sym field order, ELF32 section headers. */
int counter;
static const char greeting[] = "hello";

extern int external_call(const char *text, int value);

int bump(int by)
{
	counter += by;
	return external_call(greeting, counter);
}
