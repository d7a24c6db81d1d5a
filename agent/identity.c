/* Agent identity files, each replaced atomically and durably
 * (common/fsutil.h), so a power loss never leaves a torn key or counter. */
#include "identity.h"

#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDENTITY_KEY_FILE "agent.key"
#define IDENTITY_SEQ_FILE "seq"
#define IDENTITY_ENROLLED_FILE "enrolled"

struct identity {
    char dir[512];
    uint8_t pk[SIGN_PUBLIC_BYTES];
    uint8_t sk[SIGN_SECRET_BYTES];
    char agent_id[SIGN_AGENT_ID_CHARS + 1];
    uint64_t seq;
    char enrolled_commune[64];
    int lock_fd;
};

static int path_join(char *out, size_t outsz, const char *dir, const char *name) {
    int n = snprintf(out, outsz, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

/* Reads at most cap-1 bytes of dir/name; -1 with errno ENOENT if absent. */
static ssize_t read_small(const char *dir, const char *name, char *buf, size_t cap) {
    char path[600];
    if (path_join(path, sizeof path, dir, name) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, cap - 1);
    int saved = errno;
    close(fd);
    errno = saved;
    if (n >= 0) buf[n] = '\0';
    return n;
}

static int load_or_create_key(identity_t *id, int create, char *err, size_t errsz) {
    char buf[SIGN_SECRET_BYTES + 1];
    ssize_t n = read_small(id->dir, IDENTITY_KEY_FILE, buf, sizeof buf);
    if (n == SIGN_SECRET_BYTES) {
        memcpy(id->sk, buf, SIGN_SECRET_BYTES);
        /* libsodium's Ed25519 secret key carries the public key in its second half. */
        memcpy(id->pk, id->sk + 32, SIGN_PUBLIC_BYTES);
        return 0;
    }
    if (n >= 0) {
        snprintf(err, errsz, "key file %s/%s is damaged (%zd bytes, expected %d); move it away to create a new identity",
                 id->dir, IDENTITY_KEY_FILE, n, SIGN_SECRET_BYTES);
        return -1;
    }
    if (errno != ENOENT) {
        snprintf(err, errsz, "cannot read %s/%s: %s", id->dir, IDENTITY_KEY_FILE, strerror(errno));
        return -1;
    }
    if (!create) {
        snprintf(err, errsz, "no agent identity in %s yet; `enroll`, `test --produce` or `run` creates it", id->dir);
        errno = ENOENT;
        return -1;
    }
    if (sign_keypair(id->pk, id->sk) < 0) {
        snprintf(err, errsz, "cannot create a key pair");
        return -1;
    }
    return fsutil_replace(id->dir, IDENTITY_KEY_FILE, id->sk, SIGN_SECRET_BYTES, 0600, err, errsz);
}

/* flock() on <dir>/lock: released by the kernel when the process dies, so a
 * crash never leaves a stale lock behind. */
static int take_lock(identity_t *id, char *err, size_t errsz) {
    char path[600];
    snprintf(path, sizeof path, "%s/lock", id->dir);
    id->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (id->lock_fd < 0) {
        snprintf(err, errsz, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(id->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errsz, "state directory %s is in use by another ispeed-agent (the daemon?); stop it or use "
                 "another --state-dir", id->dir);
        return -1;
    }
    return 0;
}

identity_t *identity_open(const char *dir, int flags, char *err, size_t errsz) {
    identity_t *id = calloc(1, sizeof *id);
    char buf[128];
    if (!id) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    if (strlen(dir) >= sizeof id->dir - 32) {
        snprintf(err, errsz, "state directory path too long: %s", dir);
        goto fail;
    }
    id->lock_fd = -1;
    snprintf(id->dir, sizeof id->dir, "%s", dir);
    if ((flags & IDENTITY_CREATE) && mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errsz, "cannot create state directory %s: %s (choose one with --state-dir)", dir,
                 strerror(errno));
        goto fail;
    }
    if (sign_init() < 0) {
        snprintf(err, errsz, "libsodium failed to initialise");
        goto fail;
    }
    if ((flags & IDENTITY_EXCLUSIVE) && take_lock(id, err, errsz) < 0) goto fail;
    if (load_or_create_key(id, flags & IDENTITY_CREATE, err, errsz) < 0) goto fail;
    sign_agent_id(id->pk, id->agent_id);
    if (read_small(dir, IDENTITY_SEQ_FILE, buf, sizeof buf) >= 0) {
        char *end;
        errno = 0;
        id->seq = strtoull(buf, &end, 10);
        if (errno || end == buf) {
            snprintf(err, errsz, "sequence file %s/%s is damaged; it must hold the last sequence number", dir,
                     IDENTITY_SEQ_FILE);
            goto fail;
        }
    }
    if (read_small(dir, IDENTITY_ENROLLED_FILE, buf, sizeof id->enrolled_commune) >= 0) {
        buf[strcspn(buf, "\n")] = '\0';
        memcpy(id->enrolled_commune, buf, strlen(buf) + 1);
    }
    return id;
fail:
    identity_close(id);
    return NULL;
}

void identity_close(identity_t *id) {
    if (!id) return;
    if (id->lock_fd >= 0) close(id->lock_fd);
    memset(id->sk, 0, sizeof id->sk);
    free(id);
}

const char *identity_agent_id(const identity_t *id) { return id->agent_id; }
const uint8_t *identity_public_key(const identity_t *id) { return id->pk; }
const uint8_t *identity_secret_key(const identity_t *id) { return id->sk; }
uint64_t identity_last_seq(const identity_t *id) { return id->seq; }
const char *identity_enrolled_commune(const identity_t *id) { return id->enrolled_commune; }

int identity_next_seq(identity_t *id, uint64_t *seq, char *err, size_t errsz) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%" PRIu64 "\n", id->seq + 1);
    if (fsutil_replace(id->dir, IDENTITY_SEQ_FILE, buf, (size_t)n, 0600, err, errsz) < 0) return -1;
    *seq = ++id->seq;
    return 0;
}

int identity_is_enrolled(const identity_t *id, const char *commune) {
    return id->enrolled_commune[0] && strcmp(id->enrolled_commune, commune) == 0;
}

int identity_mark_enrolled(identity_t *id, const char *commune, char *err, size_t errsz) {
    char buf[80];
    int n = snprintf(buf, sizeof buf, "%s\n", commune);
    if (fsutil_replace(id->dir, IDENTITY_ENROLLED_FILE, buf, (size_t)n, 0600, err, errsz) < 0) return -1;
    snprintf(id->enrolled_commune, sizeof id->enrolled_commune, "%s", commune);
    return 0;
}
