/* The bytes every download is cut from: one buffer of random data, filled
 * once, so that no compression on the path can inflate a measured rate and
 * no request costs a copy. The same bytes sit in a memfd that downloads are
 * sendfile()d from: the kernel then sends page references instead of
 * copying 1 MiB of user memory per MiB sent, which is what a static-file
 * server like nginx does too (measured in bench/server.sh). */
#ifndef ISPEED_SERVER_PAYLOAD_H
#define ISPEED_SERVER_PAYLOAD_H

#include <stddef.h>

#define PAYLOAD_SIZE (1u << 20)

/* Fills the buffer; -1 with a message if the kernel gives no randomness. */
int payload_init(char *err, size_t errsz);
/* PAYLOAD_SIZE bytes, valid after payload_init and for the whole run. */
const unsigned char *payload_data(void);
/* A read-only descriptor holding the same PAYLOAD_SIZE bytes for sendfile;
 * -1 when the kernel has no memfd (then callers write payload_data). */
int payload_fd(void);

#endif
