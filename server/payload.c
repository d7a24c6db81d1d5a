/* The random download payload (see payload.h). */
#include "payload.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

static unsigned char payload[PAYLOAD_SIZE];

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
    return 0;
}

const unsigned char *payload_data(void) { return payload; }
