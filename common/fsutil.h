/* Durable file writes: whole-buffer writes, and replace-by-rename with the
 * fsyncs that make a file hold either its old or its new content after a
 * power loss, never a torn one. */
#ifndef ISPEED_FSUTIL_H
#define ISPEED_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all of buf, retrying short writes and EINTR; -1 with errno set. */
int fsutil_write_all(int fd, const void *buf, size_t len);
/* fsync of a directory, so that a rename or a new file in it is durable. */
int fsutil_fsync_dir(const char *dir);
/* dir/name := data, atomically and durably (temp file, fsync, rename, fsync
 * of the directory). On failure says which file and why. */
int fsutil_replace(const char *dir, const char *name, const void *data, size_t len, mode_t mode, char *err,
                   size_t errsz);

#endif
