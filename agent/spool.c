/* Segment-file spool. On disk, in the spool directory:
 *   <first id, 16 hex>.seg   raw segment, appended to (only the newest)
 *   <first id, 16 hex>.zst   sealed segment, one zstd frame of a raw one
 *   acked                    highest id below which everything is delivered
 * A record is a 20-byte header {magic, payload length, CRC-32C of id and
 * payload, id} and its payload {topic length u8, topic, key length u16 LE,
 * key, value}. A reader that meets a bad header or CRC scans forward for the
 * next valid header, so one damaged record costs only itself. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "fsutil.h"
#include "log.h"

#define SPOOL_MAGIC 0x4c505349u /* "ISPL" little-endian */
#define SPOOL_HEADER 20
#define SPOOL_MAX_RECORD (1u << 20)
/* Ids count records from 1 and never come near this; a delivery mark or a
 * segment name at or past it is damage, which would wrap next_id. */
#define SPOOL_ID_LIMIT (1ull << 62)

typedef struct spool_segment {
    uint64_t first_id, last_id; /* last_id 0: no record */
    uint64_t bytes;
    int sealed;
} spool_segment;

struct spool {
    char dir[512];
    spool_opts opts;
    spool_segment *segs; /* oldest first; the last one is the active segment */
    size_t nsegs, capsegs;
    int fd;              /* active segment */
    uint64_t next_id;
    uint64_t acked;      /* durable mark */
    uint64_t *pending;   /* sorted ids not yet acknowledged */
    size_t npending, cappending;
    uint64_t evicted, damaged;
};

static uint32_t crc32c_update(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
    }
    return ~crc;
}

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }

static void seg_path(const spool_t *sp, uint64_t first_id, int sealed, char *out, size_t outsz) {
    snprintf(out, outsz, "%s/%016" PRIx64 ".%s", sp->dir, first_id, sealed ? "zst" : "seg");
}

static int read_whole(const char *path, uint8_t **out, size_t *len) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) return -1;
    if (fstat(fd, &st) < 0) goto fail;
    *len = (size_t)st.st_size;
    *out = malloc(*len ? *len : 1);
    if (!*out) goto fail;
    size_t got = 0;
    while (got < *len) {
        ssize_t r = read(fd, *out + got, *len - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            free(*out);
            goto fail;
        }
        got += (size_t)r;
    }
    close(fd);
    return 0;
fail:
    close(fd);
    return -1;
}

/* The raw bytes of a segment, decompressed if sealed. */
static int seg_load(const spool_t *sp, const spool_segment *s, uint8_t **out, size_t *len) {
    char path[600];
    uint8_t *z;
    size_t zlen;
    seg_path(sp, s->first_id, s->sealed, path, sizeof path);
    if (!s->sealed) return read_whole(path, out, len);
    if (read_whole(path, &z, &zlen) < 0) return -1;
    unsigned long long raw = ZSTD_getFrameContentSize(z, zlen);
    if (raw == ZSTD_CONTENTSIZE_ERROR || raw == ZSTD_CONTENTSIZE_UNKNOWN || raw > (1ull << 32)) {
        free(z);
        errno = EBADMSG;
        return -1;
    }
    *out = malloc(raw ? raw : 1);
    size_t n = *out ? ZSTD_decompress(*out, raw, z, zlen) : 0;
    free(z);
    if (!*out || ZSTD_isError(n)) {
        free(*out);
        errno = EBADMSG;
        return -1;
    }
    *len = n;
    return 0;
}

/* Parses one record at buf[off]; returns its total size or 0 if no valid
 * record starts there. */
static size_t record_at(const uint8_t *buf, size_t len, size_t off, spool_record *rec, char *topic, char *key) {
    if (len - off < SPOOL_HEADER || get32(buf + off) != SPOOL_MAGIC) return 0;
    uint32_t plen = get32(buf + off + 4);
    if (plen < 3 || plen > SPOOL_MAX_RECORD || plen > len - off - SPOOL_HEADER) return 0;
    const uint8_t *p = buf + off + SPOOL_HEADER;
    if (crc32c_update(crc32c_update(0, buf + off + 12, 8), p, plen) != get32(buf + off + 8)) return 0;
    size_t tlen = p[0];
    if (1 + tlen + 2 > plen) return 0;
    size_t klen = (size_t)p[1 + tlen] | (size_t)p[2 + tlen] << 8;
    if (3 + tlen + klen > plen) return 0;
    memcpy(topic, p + 1, tlen);
    topic[tlen] = '\0';
    memcpy(key, p + 3 + tlen, klen);
    key[klen] = '\0';
    rec->id = get64(buf + off + 12);
    rec->topic = topic;
    rec->key = key;
    rec->value = p + 3 + tlen + klen;
    rec->len = plen - 3 - tlen - klen;
    return SPOOL_HEADER + plen;
}

/* Visits every valid record of a segment buffer, skipping damage. */
static int seg_scan(spool_t *sp, const spool_segment *s, const uint8_t *buf, size_t len, int count_damage,
                    spool_visit_cb cb, void *arg) {
    char topic[256], key[65536];
    spool_record rec;
    size_t off = 0;
    int in_damage = 0;
    while (off < len) {
        size_t n = record_at(buf, len, off, &rec, topic, key);
        if (n == 0) {
            if (!in_damage && count_damage) {
                sp->damaged++;
                log_warn("spool", "damaged record skipped segment=%016" PRIx64 " offset=%zu bytes_left=%zu",
                         s->first_id, off, len - off);
            }
            in_damage = 1;
            off++;
            continue;
        }
        in_damage = 0;
        off += n;
        if (cb && cb(&rec, arg)) return 1;
    }
    return 0;
}

static int pending_push(spool_t *sp, uint64_t id) {
    if (sp->npending == sp->cappending) {
        size_t cap = sp->cappending ? sp->cappending * 2 : 256;
        uint64_t *p = realloc(sp->pending, cap * sizeof *p);
        if (!p) return -1;
        sp->pending = p;
        sp->cappending = cap;
    }
    /* Ids arrive in increasing order but a resynced scan may repeat one. */
    if (sp->npending && sp->pending[sp->npending - 1] >= id) return 0;
    sp->pending[sp->npending++] = id;
    return 0;
}

typedef struct open_scan {
    spool_t *sp;
    spool_segment *seg;
    size_t len;          /* of the segment's raw bytes */
    int oom;
} open_scan;

static int on_open_record(const spool_record *rec, void *arg) {
    open_scan *os = arg;
    /* A segment's ids run on from its first, one per record of at least
     * SPOOL_HEADER + 3 bytes: any other id cannot belong here, and is
     * damage that passed the CRC. Taken, an id near 2^64 would wrap
     * next_id, and new records would never be delivered. */
    if (rec->id < os->seg->first_id || rec->id - os->seg->first_id > os->len / (SPOOL_HEADER + 3)) return 0;
    if (rec->id > os->seg->last_id) os->seg->last_id = rec->id;
    if (rec->id >= os->sp->next_id) os->sp->next_id = rec->id + 1;
    if (rec->id > os->sp->acked && pending_push(os->sp, rec->id) < 0) os->oom = 1;
    return 0;
}

static int seg_add(spool_t *sp, uint64_t first_id, int sealed, uint64_t bytes) {
    if (sp->nsegs == sp->capsegs) {
        size_t cap = sp->capsegs ? sp->capsegs * 2 : 16;
        spool_segment *s = realloc(sp->segs, cap * sizeof *s);
        if (!s) return -1;
        sp->segs = s;
        sp->capsegs = cap;
    }
    sp->segs[sp->nsegs++] = (spool_segment){.first_id = first_id, .sealed = sealed, .bytes = bytes};
    return 0;
}

static int cmp_seg(const void *a, const void *b) {
    const spool_segment *x = a, *y = b;
    return x->first_id < y->first_id ? -1 : x->first_id > y->first_id;
}

static int write_mark(spool_t *sp, uint64_t mark, char *err, size_t errsz) {
    char buf[32], why[600];
    int n = snprintf(buf, sizeof buf, "%" PRIu64 "\n", mark);
    if (fsutil_replace(sp->dir, "acked", buf, (size_t)n, 0600, why, sizeof why) < 0) {
        snprintf(err, errsz, "spool: cannot record delivery: %s", why);
        return -1;
    }
    sp->acked = mark;
    return 0;
}

static int open_active(spool_t *sp, char *err, size_t errsz) {
    char path[600];
    seg_path(sp, sp->next_id, 0, path, sizeof path);
    sp->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (sp->fd < 0 || fsutil_fsync_dir(sp->dir) < 0 || seg_add(sp, sp->next_id, 0, 0) < 0) {
        snprintf(err, errsz, "spool %s: cannot create segment: %s", sp->dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* Compresses segment i into its .zst twin; the raw file goes only after the
 * compressed one is durable. */
static int seal(spool_t *sp, size_t i, char *err, size_t errsz) {
    spool_segment *s = &sp->segs[i];
    char raw[600], zst[600], tmp[620];
    uint8_t *buf = NULL, *z = NULL;
    size_t len;
    int fd = -1;
    seg_path(sp, s->first_id, 0, raw, sizeof raw);
    seg_path(sp, s->first_id, 1, zst, sizeof zst);
    snprintf(tmp, sizeof tmp, "%s.tmp", zst);
    if (read_whole(raw, &buf, &len) < 0) goto fail;
    size_t bound = ZSTD_compressBound(len);
    z = malloc(bound ? bound : 1);
    if (!z) goto fail;
    size_t zlen = ZSTD_compress(z, bound, buf, len, 3);
    if (ZSTD_isError(zlen)) {
        errno = EIO;
        goto fail;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fsutil_write_all(fd, z, zlen) < 0 || fsync(fd) < 0) goto fail;
    close(fd);
    fd = -1;
    if (rename(tmp, zst) < 0 || fsutil_fsync_dir(sp->dir) < 0 || unlink(raw) < 0) goto fail;
    s->sealed = 1;
    s->bytes = zlen;
    free(buf);
    free(z);
    return 0;
fail:
    snprintf(err, errsz, "spool %s: cannot seal segment %016" PRIx64 ": %s", sp->dir, s->first_id, strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(buf);
    free(z);
    return -1;
}

static void seg_remove(spool_t *sp, size_t i) {
    char path[600];
    seg_path(sp, sp->segs[i].first_id, sp->segs[i].sealed, path, sizeof path);
    unlink(path);
    memmove(&sp->segs[i], &sp->segs[i + 1], (sp->nsegs - i - 1) * sizeof *sp->segs);
    sp->nsegs--;
}

/* Drops pending ids up to and including last. Returns how many. */
static uint64_t pending_drop_through(spool_t *sp, uint64_t last) {
    size_t k = 0;
    while (k < sp->npending && sp->pending[k] <= last) k++;
    memmove(sp->pending, sp->pending + k, (sp->npending - k) * sizeof *sp->pending);
    sp->npending -= k;
    return k;
}

/* Removes fully delivered segments, except the active one. */
static void collect_delivered(spool_t *sp) {
    while (sp->nsegs > 1) {
        spool_segment *s = &sp->segs[0];
        uint64_t last = sp->segs[1].first_id - 1;
        if (last > sp->acked) break;
        (void)s;
        seg_remove(sp, 0);
    }
}

static uint64_t total_bytes(const spool_t *sp) {
    uint64_t b = 0;
    for (size_t i = 0; i < sp->nsegs; i++) b += sp->segs[i].bytes;
    return b;
}

/* The size cap: oldest sealed segments go first, their records counted. */
static void evict_over_cap(spool_t *sp) {
    while (sp->nsegs > 1 && total_bytes(sp) > sp->opts.max_bytes) {
        uint64_t last = sp->segs[1].first_id - 1;
        uint64_t n = pending_drop_through(sp, last);
        sp->evicted += n;
        log_warn("spool", "size cap reached, oldest segment evicted records=%" PRIu64 " cap_bytes=%" PRIu64, n,
                 sp->opts.max_bytes);
        seg_remove(sp, 0);
    }
}

spool_t *spool_open(const char *dir, const spool_opts *opts, char *err, size_t errsz) {
    spool_t *sp = calloc(1, sizeof *sp);
    DIR *d = NULL;
    if (!sp) {
        snprintf(err, errsz, "out of memory");
        return NULL;
    }
    sp->fd = -1;
    snprintf(sp->dir, sizeof sp->dir, "%s", dir);
    sp->opts.max_bytes = opts && opts->max_bytes ? opts->max_bytes : 64ull << 20;
    /* Readers load a whole segment at a time: small segments keep that
     * transient memory small on the daemon. */
    sp->opts.segment_bytes = opts && opts->segment_bytes ? opts->segment_bytes : 256ull << 10;
    sp->next_id = 1;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) goto fail_errno;
    {
        char path[600];
        snprintf(path, sizeof path, "%s/acked", dir);
        FILE *f = fopen(path, "r");
        if (f) {
            if (fscanf(f, "%" SCNu64, &sp->acked) != 1 || sp->acked >= SPOOL_ID_LIMIT) {
                log_warn("spool", "delivery mark unreadable, every spooled record will be sent again dir=%s", dir);
                sp->acked = 0;
            }
            fclose(f);
        }
    }
    sp->next_id = sp->acked + 1;
    if (!(d = opendir(dir))) goto fail_errno;
    struct dirent *de;
    while ((de = readdir(d))) {
        uint64_t first;
        char ext[8], tail;
        struct stat st;
        char path[600];
        if (sscanf(de->d_name, "%16" SCNx64 ".%3s%c", &first, ext, &tail) != 2 || strlen(de->d_name) != 20 ||
            first >= SPOOL_ID_LIMIT)
            continue;
        int sealed = strcmp(ext, "zst") == 0;
        if (!sealed && strcmp(ext, "seg") != 0) continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) < 0) continue;
        if (!sealed && st.st_size == 0) { /* an active segment that never got a record */
            unlink(path);
            continue;
        }
        if (seg_add(sp, first, sealed, (uint64_t)st.st_size) < 0) goto fail_errno;
    }
    closedir(d);
    d = NULL;
    if (sp->nsegs > 1) qsort(sp->segs, sp->nsegs, sizeof *sp->segs, cmp_seg);
    for (size_t i = 0; i < sp->nsegs; i++) {
        uint8_t *data;
        size_t len;
        open_scan os = {.sp = sp, .seg = &sp->segs[i]};
        if (sp->segs[i].first_id >= sp->next_id) sp->next_id = sp->segs[i].first_id + 1;
        if (seg_load(sp, &sp->segs[i], &data, &len) < 0) {
            sp->damaged++;
            log_warn("spool", "unreadable segment skipped segment=%016" PRIx64 " error=%s", sp->segs[i].first_id,
                     strerror(errno));
            continue;
        }
        os.len = len;
        seg_scan(sp, &sp->segs[i], data, len, 1, on_open_record, &os);
        free(data);
        if (os.oom) goto fail_errno;
    }
    /* The new active segment always starts empty, so damage at an old tail
     * never sits in front of new records. Older raw segments stay raw: they
     * are closed, and their per-record CRCs let a reader skip just the
     * damaged records, which a damaged compressed frame would not. */
    if (open_active(sp, err, errsz) < 0) goto fail;
    collect_delivered(sp);
    return sp;
fail_errno:
    snprintf(err, errsz, "spool %s: %s (check the state directory)", dir, strerror(errno));
fail:
    if (d) closedir(d);
    spool_close(sp);
    return NULL;
}

void spool_close(spool_t *sp) {
    if (!sp) return;
    if (sp->fd >= 0) close(sp->fd);
    free(sp->segs);
    free(sp->pending);
    free(sp);
}

int spool_append(spool_t *sp, const char *topic, const char *key, const void *value, size_t len, uint64_t *id,
                 char *err, size_t errsz) {
    size_t tlen = strlen(topic), klen = strlen(key);
    size_t plen = 3 + tlen + klen + len;
    spool_segment *active = &sp->segs[sp->nsegs - 1];
    if (tlen > 255 || klen > 65535 || plen > SPOOL_MAX_RECORD) {
        snprintf(err, errsz, "spool: record too large (%zu bytes)", plen);
        return -1;
    }
    uint8_t *rec = malloc(SPOOL_HEADER + plen);
    if (!rec) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    uint8_t *p = rec + SPOOL_HEADER;
    p[0] = (uint8_t)tlen;
    memcpy(p + 1, topic, tlen);
    p[1 + tlen] = (uint8_t)klen;
    p[2 + tlen] = (uint8_t)(klen >> 8);
    memcpy(p + 3 + tlen, key, klen);
    if (len) memcpy(p + 3 + tlen + klen, value, len);
    put32(rec, SPOOL_MAGIC);
    put32(rec + 4, (uint32_t)plen);
    put64(rec + 12, sp->next_id);
    put32(rec + 8, crc32c_update(crc32c_update(0, rec + 12, 8), p, plen));
    if (fsutil_write_all(sp->fd, rec, SPOOL_HEADER + plen) < 0 || fdatasync(sp->fd) < 0) {
        int saved = errno;
        /* Cut the partial record off so the next append starts clean. */
        if (ftruncate(sp->fd, (off_t)active->bytes) < 0) log_warn("spool", "cannot cut a partial record: %s", strerror(errno));
        free(rec);
        snprintf(err, errsz, "spool %s: cannot store a record: %s", sp->dir, strerror(saved));
        return -1;
    }
    free(rec);
    if (pending_push(sp, sp->next_id) < 0) {
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    *id = sp->next_id++;
    active->bytes += SPOOL_HEADER + plen;
    active->last_id = *id;
    if (active->bytes >= sp->opts.segment_bytes) {
        close(sp->fd);
        sp->fd = -1;
        if (seal(sp, sp->nsegs - 1, err, errsz) < 0) log_warn("spool", "%s", err);
        if (open_active(sp, err, errsz) < 0) return -1;
    }
    evict_over_cap(sp);
    return 0;
}

int spool_ack(spool_t *sp, uint64_t id, char *err, size_t errsz) {
    size_t lo = 0, hi = sp->npending;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sp->pending[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    if (lo == sp->npending || sp->pending[lo] != id) return 0; /* already acknowledged or evicted */
    memmove(sp->pending + lo, sp->pending + lo + 1, (sp->npending - lo - 1) * sizeof *sp->pending);
    sp->npending--;
    uint64_t mark = sp->npending ? sp->pending[0] - 1 : sp->next_id - 1;
    if (mark > sp->acked) {
        if (write_mark(sp, mark, err, errsz) < 0) return -1;
        collect_delivered(sp);
    }
    return 0;
}

typedef struct pending_visit {
    spool_t *sp;
    spool_visit_cb cb;
    void *arg;
    size_t next; /* index into pending */
    int stopped; /* cb asked to stop */
} pending_visit;

static int on_pending_record(const spool_record *rec, void *arg) {
    pending_visit *pv = arg;
    const spool_t *sp = pv->sp;
    while (pv->next < sp->npending && sp->pending[pv->next] < rec->id) pv->next++;
    if (pv->next == sp->npending) return 1;
    if (sp->pending[pv->next] != rec->id) return 0;
    pv->next++;
    if (pv->cb(rec, pv->arg)) pv->stopped = 1;
    return pv->stopped;
}

int spool_foreach_pending(spool_t *sp, uint64_t after_id, spool_visit_cb cb, void *arg, char *err, size_t errsz) {
    pending_visit pv = {.sp = sp, .cb = cb, .arg = arg};
    while (pv.next < sp->npending && sp->pending[pv.next] <= after_id) pv.next++;
    for (size_t i = 0; i < sp->nsegs && pv.next < sp->npending; i++) {
        if (i + 1 < sp->nsegs && sp->segs[i + 1].first_id <= sp->pending[pv.next]) continue;
        uint8_t *data;
        size_t len;
        if (seg_load(sp, &sp->segs[i], &data, &len) < 0) {
            /* Its records stay pending; the others must still go out. */
            snprintf(err, errsz, "spool %s: cannot read segment %016" PRIx64 ": %s", sp->dir, sp->segs[i].first_id,
                     strerror(errno));
            log_warn("spool", "%s", err);
            continue;
        }
        seg_scan(sp, &sp->segs[i], data, len, 0, on_pending_record, &pv);
        free(data);
        if (pv.stopped) return 1;
    }
    return 0;
}

void spool_get_stats(const spool_t *sp, spool_stats *out) {
    out->pending = sp->npending;
    out->bytes = total_bytes(sp);
    out->oldest_id = sp->npending ? sp->pending[0] : 0;
    out->evicted = sp->evicted;
    out->damaged = sp->damaged;
}
