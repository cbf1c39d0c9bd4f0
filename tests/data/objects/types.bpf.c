/* One of every BTF kind clang 14 emits: bitfields, anonymous members, unions, enums (signed and not),
 * typedefs, qualifiers, function pointers (with varargs), arrays, floats, a packed struct and tags. */
#include "common.h"

#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __user __attribute__((btf_type_tag("user")))

enum color { RED, GREEN = 5, BLUE };
enum delta { MINUS = -1, ZERO, PLUS };
typedef unsigned long long u64_t;
typedef int (*logger_t)(const char *fmt, ...);

struct flags {
	unsigned int a : 3;
	unsigned int b : 5;
	int c : 7;
	unsigned long long d : 33;
	unsigned char e;
};

struct __attribute__((packed)) packed {
	char tag;
	int value;
	short pair[2];
};

struct node {
	struct node *next;
	const volatile int *restrict cursor;
	union {
		u64_t as_u64;
		struct {
			__u32 lo;
			__u32 hi;
		};
		double as_double;
	};
	struct {
		enum color color;
		enum delta delta;
	} style;
	float weight;
	logger_t log;
	void (*callbacks[2])(struct node *, int);
	struct flags flags;
	struct packed packed;
	char name[4][8];
	int __user *user_ptr;
	int tagged __tag("member");
} __tag("struct");

struct node global_node __tag("variable");
const struct flags rodata_flags = { .a = 1, .b = 2, .c = -3, .d = 4, .e = 5 };

__attribute__((noinline)) __tag("function") int use_node(struct node *n, int unused __tag("param"))
{
	return n->flags.a + n->style.color + n->packed.value;
}

SEC("xdp")
int types_prog(struct xdp_md *ctx)
{
	return use_node(&global_node, 0) + rodata_flags.b;
}

char LICENSE[] SEC("license") = "GPL";
