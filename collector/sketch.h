/* The medians of a counter: one log-bucketed histogram (buckets 10% apart)
 * of each figure (download, upload, idle latency). Two sketches merge by
 * adding counts, so a restart restores them exactly, and a median is the
 * geometric middle of its bucket: within 5%.
 *
 * Memory follows the data: a commune with a few dozen samples fills a few
 * dozen buckets, kept as a sorted sparse list (4 bytes a bucket); a sketch
 * turns dense (a count per bucket, about 2 KiB) only when that is smaller or
 * a count outgrows 16 bits. With 21,600 counters of the 2025-03 registry
 * dense ones alone would take 46 MiB. */
#ifndef ISPEED_COLLECTOR_SKETCH_H
#define ISPEED_COLLECTOR_SKETCH_H

#include <stddef.h>
#include <stdint.h>

enum sketch_figure { SKETCH_DOWNLOAD = 0, SKETCH_UPLOAD = 1, SKETCH_LATENCY = 2 };

typedef struct sketch sketch_t;

/* Counts value v (bit/s, or ms for SKETCH_LATENCY) in *sk, allocating the
 * sketch on its first value. Values <= 0 are not figures and are ignored.
 * -1 when out of memory (*sk stays valid). */
int sketch_add(sketch_t **sk, enum sketch_figure f, double v);

/* The median of figure f, or 0 when the sketch holds none. */
double sketch_median(const sketch_t *sk, enum sketch_figure f);

/* The wire form (CollectorCheckpoint UnitCount.sketch): pairs of varints
 * (bucket index gap, count) over the non-zero buckets, ascending. out must
 * hold SKETCH_ENCODED_MAX bytes. */
#define SKETCH_ENCODED_MAX 8192
size_t sketch_encode(const sketch_t *sk, uint8_t *out);

/* Replaces *sk with the decoded sketch (NULL for an empty one). -1 on
 * malformed bytes or out of memory, *sk then unchanged. */
int sketch_decode(sketch_t **sk, const uint8_t *in, size_t len);

/* Bytes held, for tests and sizing. */
size_t sketch_bytes(const sketch_t *sk);

void sketch_free(sketch_t *sk);

#endif
