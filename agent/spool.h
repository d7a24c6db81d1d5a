/* The agent's durable spool: every record (sample or enrollment) is on disk,
 * fsync'd, before it is produced, and leaves only when Kafka's delivery
 * report acknowledges it. Records are length-prefixed and CRC-checked in
 * segment files; sealed segments are zstd-compressed; a size cap evicts the
 * oldest first. A torn or corrupt record is logged and skipped, and the
 * intact records around it are still delivered. */
#ifndef ISPEED_SPOOL_H
#define ISPEED_SPOOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct spool spool_t;

typedef struct spool_opts {
    uint64_t max_bytes;     /* cap on the spool's files, default 64 MiB */
    uint64_t segment_bytes; /* a segment is sealed past this size, default 256 KiB */
} spool_opts;

typedef struct spool_record {
    uint64_t id;            /* increasing, never reused in one spool */
    const char *topic;      /* topic suffix, e.g. "samples" */
    const char *key;
    const uint8_t *value;
    size_t len;
} spool_record;

typedef struct spool_stats {
    uint64_t pending;       /* records not yet acknowledged */
    uint64_t bytes;         /* on disk */
    uint64_t oldest_id;     /* 0 when empty */
    uint64_t evicted;       /* records dropped by the size cap since open */
    uint64_t damaged;       /* corrupt or torn records skipped since open */
} spool_stats;

spool_t *spool_open(const char *dir, const spool_opts *opts, char *err, size_t errsz);
void spool_close(spool_t *sp);

/* Appends and fsyncs; *id is the record's id. On failure (disk full...)
 * nothing is half-stored: the partial record is cut off again. */
int spool_append(spool_t *sp, const char *topic, const char *key, const void *value, size_t len, uint64_t *id,
                 char *err, size_t errsz);
/* Marks a record delivered. Acknowledgements may come in any order; the
 * durable mark advances over the contiguous prefix, so after a crash a
 * record may be sent again (the collector de-duplicates) but never lost. */
int spool_ack(spool_t *sp, uint64_t id, char *err, size_t errsz);

/* Calls each pending record with an id above after_id, in order; stops
 * early if cb returns non-zero (and then returns 1). Segments wholly at or
 * below after_id are not read. */
typedef int (*spool_visit_cb)(const spool_record *rec, void *arg);
int spool_foreach_pending(spool_t *sp, uint64_t after_id, spool_visit_cb cb, void *arg, char *err, size_t errsz);

void spool_get_stats(const spool_t *sp, spool_stats *out);

#endif
