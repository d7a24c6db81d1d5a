/* agent/spool.c: nothing stored is lost, acknowledged records leave, damage
 * costs only the damaged record, the size cap evicts oldest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "spool.h"

typedef struct collected {
    uint64_t ids[4096];
    char values[4096][32];
    size_t n;
} collected;

static int collect(const spool_record *rec, void *arg) {
    collected *c = arg;
    c->ids[c->n] = rec->id;
    snprintf(c->values[c->n], sizeof c->values[c->n], "%.*s", (int)rec->len, (const char *)rec->value);
    assert_string_equal(rec->topic, "samples");
    assert_string_equal(rec->key, "01");
    c->n++;
    return 0;
}

static collected *pending_of(spool_t *sp) {
    static collected c;
    char err[256];
    memset(&c, 0, sizeof c);
    assert_int_equal(spool_foreach_pending(sp, 0, collect, &c, err, sizeof err), 0);
    return &c;
}

static char *make_dir(void) {
    static char dir[64];
    snprintf(dir, sizeof dir, "/tmp/ispeed-spool-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_dir(const char *dir) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

static void append_n(spool_t *sp, int from, int n) {
    char err[256], v[32];
    uint64_t id;
    for (int i = from; i < from + n; i++) {
        snprintf(v, sizeof v, "sample-%d", i);
        if (spool_append(sp, "samples", "01", v, strlen(v), &id, err, sizeof err) < 0) fail_msg("%s", err);
    }
}

static void appended_records_survive_reopen_until_acked(void **state) {
    (void)state;
    char err[256], *dir = make_dir();
    spool_t *sp = spool_open(dir, NULL, err, sizeof err);
    assert_non_null(sp);
    append_n(sp, 1, 5);
    assert_int_equal(spool_ack(sp, 2, err, sizeof err), 0); /* out of order */
    assert_int_equal(spool_ack(sp, 1, err, sizeof err), 0);
    spool_close(sp);

    sp = spool_open(dir, NULL, err, sizeof err);
    assert_non_null(sp);
    collected *c = pending_of(sp);
    assert_int_equal(c->n, 3);
    assert_true(c->ids[0] == 3 && c->ids[2] == 5);
    assert_string_equal(c->values[0], "sample-3");
    /* New ids continue after the old ones: an id is never reused. */
    uint64_t id;
    assert_int_equal(spool_append(sp, "samples", "01", "x", 1, &id, err, sizeof err), 0);
    assert_true(id > 5);
    for (uint64_t i = 3; i <= id; i++) assert_int_equal(spool_ack(sp, i, err, sizeof err), 0);
    spool_stats st;
    spool_get_stats(sp, &st);
    assert_true(st.pending == 0 && st.oldest_id == 0);
    spool_close(sp);
    sp = spool_open(dir, NULL, err, sizeof err);
    assert_int_equal(pending_of(sp)->n, 0);
    spool_close(sp);
    remove_dir(dir);
}

static void sealed_segments_are_compressed_and_replayed(void **state) {
    (void)state;
    char err[256], *dir = make_dir();
    spool_opts o = {.segment_bytes = 1024};
    spool_t *sp = spool_open(dir, &o, err, sizeof err);
    append_n(sp, 1, 200);
    int zst = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while ((de = readdir(d))) zst += strstr(de->d_name, ".zst") != NULL;
    closedir(d);
    assert_true(zst >= 3);
    spool_close(sp);
    sp = spool_open(dir, &o, err, sizeof err);
    collected *c = pending_of(sp);
    assert_int_equal(c->n, 200);
    for (size_t i = 0; i < 200; i++) {
        char want[32];
        snprintf(want, sizeof want, "sample-%zu", i + 1);
        assert_string_equal(c->values[i], want);
    }
    /* Acknowledging everything removes the delivered segments. */
    for (size_t i = 0; i < c->n; i++) assert_int_equal(spool_ack(sp, c->ids[i], err, sizeof err), 0);
    spool_stats st;
    spool_get_stats(sp, &st);
    assert_true(st.pending == 0);
    assert_true(st.bytes < 1024);
    spool_close(sp);
    remove_dir(dir);
}

/* Finds the one raw segment holding records. */
static void raw_segment(const char *dir, char *out, size_t outsz) {
    DIR *d = opendir(dir);
    struct dirent *de;
    out[0] = '\0';
    while ((de = readdir(d))) {
        struct stat st;
        char p[600];
        snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
        if (strstr(de->d_name, ".seg") && stat(p, &st) == 0 && st.st_size > 0) snprintf(out, outsz, "%s", p);
    }
    closedir(d);
    assert_true(out[0] != '\0');
}

static void torn_tail_and_flipped_bytes_cost_only_damaged_records(void **state) {
    (void)state;
    char err[256], seg[600], *dir = make_dir();
    spool_t *sp = spool_open(dir, NULL, err, sizeof err);
    append_n(sp, 1, 10);
    spool_close(sp);
    raw_segment(dir, seg, sizeof seg);
    struct stat st;
    assert_int_equal(stat(seg, &st), 0);
    size_t reclen = (size_t)st.st_size / 10;
    /* Power loss mid-write: the last record is cut in half. */
    assert_int_equal(truncate(seg, st.st_size - (off_t)reclen / 2), 0);
    /* Bit rot in record 4. */
    FILE *f = fopen(seg, "r+b");
    fseek(f, (long)(reclen * 4 + reclen / 2), SEEK_SET);
    fputc(0xff ^ 'x', f);
    fputc(0, f);
    fclose(f);

    sp = spool_open(dir, NULL, err, sizeof err);
    if (!sp) fail_msg("%s", err);
    collected *c = pending_of(sp);
    assert_int_equal(c->n, 8);
    for (size_t i = 0; i < c->n; i++) assert_true(c->ids[i] != 5 && c->ids[i] != 10);
    assert_string_equal(c->values[4], "sample-6");
    spool_stats s;
    spool_get_stats(sp, &s);
    assert_int_equal(s.damaged, 2);
    /* New records go after the damage and are read back. */
    append_n(sp, 11, 2);
    assert_int_equal(pending_of(sp)->n, 10);
    spool_close(sp);
    remove_dir(dir);
}

static void size_cap_evicts_oldest_first_and_counts(void **state) {
    (void)state;
    char err[256], *dir = make_dir();
    spool_opts o = {.segment_bytes = 512, .max_bytes = 2048};
    spool_t *sp = spool_open(dir, &o, err, sizeof err);
    char v[64];
    uint64_t id;
    /* Incompressible-ish values so segments keep their size sealed. */
    for (int i = 1; i <= 300; i++) {
        snprintf(v, sizeof v, "sample-%d-%08x%08x", i, (unsigned)rand(), (unsigned)rand());
        assert_int_equal(spool_append(sp, "samples", "01", v, strlen(v), &id, err, sizeof err), 0);
    }
    spool_stats s;
    spool_get_stats(sp, &s);
    assert_true(s.bytes <= 2048 + 512);
    assert_true(s.evicted > 0);
    assert_int_equal(s.evicted + s.pending, 300);
    collected *c = pending_of(sp);
    assert_int_equal(c->n, s.pending);
    assert_true(c->ids[c->n - 1] == 300); /* the newest kept */
    assert_true(c->ids[0] == 300 - s.pending + 1); /* oldest dropped first */
    spool_close(sp);
    remove_dir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(appended_records_survive_reopen_until_acked),
        cmocka_unit_test(sealed_segments_are_compressed_and_replayed),
        cmocka_unit_test(torn_tail_and_flipped_bytes_cost_only_damaged_records),
        cmocka_unit_test(size_cap_evicts_oldest_first_and_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
