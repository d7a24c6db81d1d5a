/* The bytes every speed-test body is cut from, downloads (ispeed-server) and
 * uploads (ispeed-agent) alike: one block of random data, filled once, so no
 * compression on the path can inflate a measured rate and no request costs
 * a copy. The bytes sit in a memfd that bodies are sendfile()d from: the
 * kernel then sends page references instead of copying user memory, as a
 * static-file server like nginx does (measured in bench/server.sh and
 * bench/efficiency.sh). Without memfd they are a heap buffer, written with
 * writev. */
#ifndef ISPEED_PAYLOAD_H
#define ISPEED_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PAYLOAD_DEFAULT_SIZE (1u << 20)

typedef struct payload payload_t;

/* size random bytes (from getrandom; a xorshift filler if the kernel has
 * none, which still defeats compression). NULL with a message when out of
 * memory. */
payload_t *payload_new(size_t size, char *err, size_t errsz);
void payload_free(payload_t *p);
size_t payload_size(const payload_t *p);
/* The memfd holding the bytes, or -1 (then payload_bytes has them). */
int payload_fd(const payload_t *p);
/* The bytes in memory, or NULL when they live only in the memfd. */
const unsigned char *payload_bytes(const payload_t *p);

/* One step of sending a message on a stream socket: head[0..headlen) (MSG_MORE
 * when a body follows, so both share segments), then body_left bytes of the
 * payload from offset body_off, wrapping at its end. Returns what the kernel
 * took (the head's bytes first), or -1 with errno; *want is what was
 * offered, so a short count means the send buffer is full. The caller
 * advances its head and body offsets by the count. p may be NULL when
 * body_left is 0. */
ssize_t payload_send(const payload_t *p, int sock, const void *head, size_t headlen, uint64_t body_left,
                     size_t body_off, size_t *want);

#endif
