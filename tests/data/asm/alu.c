/* Arithmetic on 32-bit subregisters, byte swaps, signed compares, atomics, packet loads. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef long long s64;
typedef int s32;

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

u64 counter;
u32 small;

__attribute__((section("socket"), used)) int packet(void *skb)
{
	u64 proto = load_half(skb, 12);
	u64 first = load_byte(skb, 14 + (load_byte(skb, 0) & 0xf));
	return (int)(proto + first + load_word(skb, 26));
}

__attribute__((section("tp/alu"), used)) int alu(u64 *ctx)
{
	u32 a = (u32)ctx[0], b = (u32)ctx[1];
	s32 c = (s32)ctx[2];
	s64 d = (s64)ctx[3];
	u32 r = (a << 3) ^ (b >> 5) | (a & 0xff00);
	r += a * b - (b ? a / b : 0) + (b ? a % b : 0);
	if (c < -5 || (s64)c > d)
		r = -r;
	if (d >= 1000000 && a <= b)
		r = ~r;
	r ^= __builtin_bswap32(r) + __builtin_bswap16((u16)r);
	u64 wide = __builtin_bswap64(ctx[4]) >> (d & 63);
	wide = (s64)wide >> 3;
	__sync_fetch_and_add(&counter, wide);
	__sync_fetch_and_add(&small, 5);
	u64 swapped = 0;
	u32 swapped32 = 0;
#ifdef CPU_V3 /* the 32-bit and fetching atomics need -mcpu=v3 */
	__sync_fetch_and_and(&small, r);
	__sync_fetch_and_or(&small, 3);
	__sync_fetch_and_xor(&small, a);
	u64 old = __sync_fetch_and_add(&counter, 1);
	u32 prev = __sync_lock_test_and_set(&small, 9);
	swapped = __sync_val_compare_and_swap(&counter, old, wide);
	swapped32 = __sync_val_compare_and_swap(&small, prev, r);
	swapped ^= __sync_fetch_and_xor(&counter, 6) + __sync_fetch_and_or(&small, 1);
#endif
	if ((s64)ctx[5] < 0)
		return (int)(swapped ^ swapped32);
	return (int)(r + wide + 0x123456789aULL);
}

char _license[] __attribute__((section("license"), used)) = "GPL";
