/* The semaphore-guarded probe lives in its own file: <sys/sdt.h> gives every probe of a compilation
 * unit a semaphore once _SDT_HAS_SEMAPHORES is defined. */
extern volatile unsigned short tinybpf_guarded_semaphore;
int fire_guarded(long value);
