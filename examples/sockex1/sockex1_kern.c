/* The kernel's samples/bpf/sockex1_kern.c (legacy map definition): count bytes per IP protocol.
 *
 * A socket filter attached to a raw packet socket: for each outgoing packet it reads the IP protocol
 * byte with the LD_ABS instruction (load_byte) and adds skb->len to that protocol's slot of an
 * array map indexed by protocol number.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <stddef.h>
#include <bpf/bpf_helpers.h>

/* bpf_legacy.h: LD_ABS through an LLVM intrinsic */
unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");

/* libbpf < 1.0's map definition (libbpf 1.x dropped it; tinybpf still loads it) */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") my_map = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(long),
	.max_entries = 256,
};

SEC("socket1")
int bpf_prog1(struct __sk_buff *skb)
{
	int index = load_byte(skb, ETH_HLEN + offsetof(struct iphdr, protocol));
	long *value;

	if (skb->pkt_type != PACKET_OUTGOING)
		return 0;

	value = bpf_map_lookup_elem(&my_map, &index);
	if (value)
		__sync_fetch_and_add(value, skb->len);

	return 0;
}
char _license[] SEC("license") = "GPL";
