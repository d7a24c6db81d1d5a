/* Durable file writes shared by the agent's identity, spool and state. */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int fsutil_write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int fsutil_fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int fsutil_replace(const char *dir, const char *name, const void *data, size_t len, mode_t mode, char *err,
                   size_t errsz) {
    char path[600], tmp[620];
    int fd = -1;
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path) {
        snprintf(err, errsz, "path too long: %s/%s", dir, name);
        return -1;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || fsutil_write_all(fd, data, len) < 0 || fsync(fd) < 0) goto fail;
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0 || fsutil_fsync_dir(dir) < 0) goto fail;
    return 0;
fail:
    snprintf(err, errsz, "cannot write %s: %s (check that the directory is writable and not full)", tmp,
             strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    return -1;
}
