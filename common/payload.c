/* The random payload (see payload.h). */
#include "payload.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

struct payload {
    size_t size;
    int fd;              /* memfd, or -1 */
    unsigned char *mem;  /* only without the memfd */
};

static void random_fill(unsigned char *buf, size_t len) {
    size_t got = 0;
    while (got < len) {
        ssize_t n = getrandom(buf + got, len - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)ts.tv_nsec ^ got;
            for (; got < len; got++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                buf[got] = (unsigned char)x;
            }
            break;
        }
        got += (size_t)n;
    }
}

/* Filled a chunk at a time, so the bytes never sit in this process's
 * memory (the agent is meant for small boards). */
static int fill_memfd(payload_t *p) {
    unsigned char chunk[64 * 1024];
    size_t put = 0;
    p->fd = memfd_create("ispeed-payload", MFD_CLOEXEC);
    if (p->fd < 0) return -1;
    while (put < p->size) {
        size_t len = p->size - put < sizeof chunk ? p->size - put : sizeof chunk, off = 0;
        random_fill(chunk, len);
        while (off < len) {
            ssize_t n = write(p->fd, chunk + off, len - off);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                close(p->fd);
                p->fd = -1;
                return -1;
            }
            off += (size_t)n;
        }
        put += len;
    }
    return 0;
}

payload_t *payload_new(size_t size, char *err, size_t errsz) {
    payload_t *p = calloc(1, sizeof *p);
    if (!p || size == 0) goto fail;
    p->size = size;
    if (fill_memfd(p) == 0) return p;
    if (!(p->mem = malloc(size))) goto fail;
    random_fill(p->mem, size);
    return p;
fail:
    snprintf(err, errsz, size ? "cannot make the %zu-byte payload: out of memory" : "payload of 0 bytes", size);
    free(p);
    return NULL;
}

void payload_free(payload_t *p) {
    if (!p) return;
    if (p->fd >= 0) close(p->fd);
    free(p->mem);
    free(p);
}

size_t payload_size(const payload_t *p) { return p->size; }
int payload_fd(const payload_t *p) { return p->fd; }
const unsigned char *payload_bytes(const payload_t *p) { return p->mem; }

ssize_t payload_send(const payload_t *p, int sock, const void *head, size_t headlen, uint64_t body_left,
                     size_t body_off, size_t *want) {
    struct iovec iov[3];
    int niov = 0;

    *want = 0;
    if (headlen > 0) {
        *want = headlen;
        if (body_left == 0 || p->fd >= 0)
            return send(sock, head, headlen, MSG_NOSIGNAL | (body_left ? MSG_MORE : 0));
        iov[niov].iov_base = (void *)head;
        iov[niov++].iov_len = headlen;
    }
    if (body_left == 0) return 0;
    if (p->fd >= 0) {
        /* The payload repeats: one call runs at most to the memfd's end. */
        off_t off = (off_t)body_off;
        *want = p->size - body_off;
        if (*want > body_left) *want = (size_t)body_left;
        return sendfile(sock, p->fd, &off, *want);
    }
    for (int k = 0; k < 2 && body_left > 0; k++) {
        size_t len = p->size - body_off;
        if (len > body_left) len = (size_t)body_left;
        iov[niov].iov_base = p->mem + body_off;
        iov[niov].iov_len = len;
        *want += len;
        niov++;
        body_left -= len;
        body_off = 0;
    }
    /* writev on a socket can raise SIGPIPE; sendmsg takes MSG_NOSIGNAL. */
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)niov};
    return sendmsg(sock, &mh, MSG_NOSIGNAL);
}
