/* The random download payload (see payload.h). */
#include "payload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <unistd.h>

static unsigned char payload[PAYLOAD_SIZE];
static int fd = -1;

int payload_init(char *err, size_t errsz) {
    size_t got = 0;

    while (got < sizeof payload) {
        ssize_t n = getrandom(payload + got, sizeof payload - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            snprintf(err, errsz, "cannot fill the payload: getrandom: %s", strerror(errno));
            return -1;
        }
        got += (size_t)n;
    }
    fd = memfd_create("ispeed-payload", MFD_CLOEXEC);
    if (fd >= 0) {
        size_t put = 0;
        while (put < sizeof payload) {
            ssize_t n = write(fd, payload + put, sizeof payload - put);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            put += (size_t)n;
        }
        /* Without the whole copy, downloads are written from memory instead. */
        if (put < sizeof payload) {
            close(fd);
            fd = -1;
        }
    }
    return 0;
}

const unsigned char *payload_data(void) { return payload; }

int payload_fd(void) { return fd; }
