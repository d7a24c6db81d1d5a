/* libFuzzer target: the agent's spool read back from disk (agent/spool.c):
 * segment files scanned record by record, damage skipped, the delivery
 * mark, sealed (zstd) segments, then the pending records visited, one
 * appended and all acknowledged. A power cut, a full disk or a bad sector
 * leaves any bytes there; the agent must start and deliver what is intact.
 *
 * Input: byte 0 flags (FZ_*), byte 1 the first segment's first id, byte 2
 * the delivery mark, then the segment bytes (split in two segments with
 * FZ_TWO). With FZ_FIX_CRC the harness rewrites the CRC of every record it
 * can frame, so the scanner's checks after the CRC are reached. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "log.h"
#include "spool.h"

/* FZ_RAW_ZST: the second segment's bytes are its .zst file as they are
 * (a damaged frame), not compressed by the harness. */
/* FZ_HIGH_FIRST, FZ_HIGH_MARK: the first id, the mark count down from
 * 2^64 - 1 (damaged names and marks). */
enum {
    FZ_SEALED = 1,
    FZ_FIX_CRC = 2,
    FZ_MARK = 4,
    FZ_TWO = 8,
    FZ_SEALED2 = 16,
    FZ_RAW_ZST = 32,
    FZ_HIGH_FIRST = 64,
    FZ_HIGH_MARK = 128,
};

/* The spool's record framing (agent/spool.c's comment): magic, payload
 * length, CRC-32C of id and payload, id; 20 bytes. */
#define REC_MAGIC 0x4c505349u
#define REC_HEADER 20

static uint32_t crc32c(uint32_t crc, const uint8_t *p, size_t n) {
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
    }
    return ~crc;
}

static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }

/* Gives every record the harness can frame its right CRC. */
static void fix_crcs(uint8_t *buf, size_t len) {
    size_t off = 0;
    while (off + REC_HEADER <= len) {
        uint32_t plen = le32(buf + off + 4);
        if (le32(buf + off) != REC_MAGIC || plen > len - off - REC_HEADER) {
            off++;
            continue;
        }
        uint32_t crc = crc32c(crc32c(0, buf + off + 12, 8), buf + off + REC_HEADER, plen);
        for (int i = 0; i < 4; i++) buf[off + 8 + i] = (uint8_t)(crc >> (8 * i));
        off += REC_HEADER + plen;
    }
}

static char dir[64];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what) {
    fprintf(stderr, "fuzz_spool: %s\n", what);
    abort();
}

static void empty_dir(void) {
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[600];
    if (!d) die("cannot open the spool directory");
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        unlink(path);
    }
    closedir(d);
}

static void remove_dir(void) {
    empty_dir();
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    /* tmpfs: the spool fsyncs every file it writes. */
    snprintf(dir, sizeof dir, "%s", access("/dev/shm", W_OK) == 0 ? "/dev/shm/ispeed-fuzz-spool.XXXXXX"
                                                                   : "/tmp/ispeed-fuzz-spool.XXXXXX");
    if (!mkdtemp(dir)) die("cannot create a directory");
    log_set_level(LOG_ERROR); /* damage is the normal case here */
    atexit(remove_dir);
    return 0;
}

static void put_file(const char *name, const void *buf, size_t len) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(buf, 1, len, f) != len) || fclose(f) != 0) die("cannot write a spool file");
}

static void put_segment(uint64_t first, int sealed, int raw, const uint8_t *buf, size_t len) {
    char name[32];
    snprintf(name, sizeof name, "%016" PRIx64 ".%s", first, sealed ? "zst" : "seg");
    if (!sealed || raw) {
        put_file(name, buf, len);
        return;
    }
    size_t bound = ZSTD_compressBound(len);
    uint8_t *z = malloc(bound);
    size_t zlen = ZSTD_compress(z, bound, buf, len, 1);
    if (ZSTD_isError(zlen)) die("zstd");
    put_file(name, z, zlen);
    free(z);
}

struct visit {
    uint64_t last, acked, n;
    uint64_t ids[64];
};

static int on_record(const spool_record *rec, void *arg) {
    struct visit *v = arg;
    if (rec->id <= v->last) die("pending records not in increasing id order");
    if (rec->id <= v->acked) die("a record at or below the delivery mark is pending");
    if (!rec->topic || !rec->key || strlen(rec->topic) > 255) die("record without topic or key");
    if (rec->len > 0) {
        volatile uint8_t sum = 0; /* every value byte must be readable */
        for (size_t i = 0; i < rec->len; i++) sum ^= rec->value[i];
        (void)sum;
    }
    v->last = rec->id;
    if (v->n < 64) v->ids[v->n] = rec->id;
    v->n++;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    unsigned flags = data[0];
    uint64_t first = flags & FZ_HIGH_FIRST ? UINT64_MAX - data[1] : data[1];
    uint64_t mark = flags & FZ_HIGH_MARK ? UINT64_MAX - data[2] : data[2];
    size_t len = size - 3;
    uint8_t *seg = malloc(len ? len : 1);
    memcpy(seg, data + 3, len);
    if (flags & FZ_FIX_CRC) fix_crcs(seg, len);

    empty_dir();
    if (flags & FZ_MARK) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%" PRIu64 "\n", mark);
        put_file("acked", buf, (size_t)n);
    }
    if (flags & FZ_TWO) {
        size_t half = len / 2;
        put_segment(first, flags & FZ_SEALED, 0, seg, half);
        put_segment(first + 1 + (uint64_t)(data[1] & 7), flags & (FZ_SEALED2 | FZ_RAW_ZST), flags & FZ_RAW_ZST,
                    seg + half, len - half);
    } else {
        put_segment(first, flags & FZ_SEALED, 0, seg, len);
    }
    free(seg);

    char err[512];
    spool_opts opts = {.max_bytes = 1 << 20, .segment_bytes = 4096};
    spool_t *sp = spool_open(dir, &opts, err, sizeof err);
    if (!sp) return 0; /* refused with a message: the agent says so and stops */
    spool_stats st;
    spool_get_stats(sp, &st);
    /* A damaged (high) mark may be ignored: everything is then sent again. */
    struct visit v = {.acked = (flags & FZ_MARK) && !(flags & FZ_HIGH_MARK) ? mark : 0};
    if (spool_foreach_pending(sp, 0, on_record, &v, err, sizeof err) != 0) die("visit stopped without being asked");
    if (v.n > st.pending) die("more records visited than are pending");
    /* A new record is never lost behind what was read back. */
    uint64_t id;
    if (spool_append(sp, "samples", "01", "x", 1, &id, err, sizeof err) < 0) die(err);
    if (id <= v.last) die("appended record's id does not follow the spooled ones");
    spool_stats after;
    spool_get_stats(sp, &after);
    if (after.pending != st.pending + 1) die("appended record is not pending");
    for (uint64_t i = 0; i < v.n && i < 64; i++)
        if (spool_ack(sp, v.ids[i], err, sizeof err) < 0) die(err);
    if (v.n <= 64 && v.n == st.pending) {
        if (spool_ack(sp, id, err, sizeof err) < 0) die(err);
        spool_get_stats(sp, &after);
        if (after.pending != 0) die("records still pending after all were acknowledged");
    }
    spool_close(sp);
    return 0;
}
