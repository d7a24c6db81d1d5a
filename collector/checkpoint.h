/* A collector's state for one input partition, as one record of
 * <prefix>collector.state (key "<topic>/<partition>", value a zstd-compressed
 * ispeed.v1.CollectorCheckpoint): the next input offset it reflects, every
 * counter of the partition's provinces (with the last state alerted and the
 * medians' histograms), the de-duplication marks and the daily caps. Restoring
 * it and reading on from next_offset gives the same state as never stopping.
 * No Kafka here. */
#ifndef ISPEED_COLLECTOR_CHECKPOINT_H
#define ISPEED_COLLECTOR_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "ingest.h"
#include "quota.h"
#include "registry.h"

/* The input partition a province's samples go to; -1 when unknown. */
typedef int32_t (*checkpoint_owner_fn)(const registry_unit *province, void *ctx);

/* The checkpoint of partition: every province whose owner is partition.
 * *out is malloc'd (the caller frees it). -1 with a message on failure. */
int checkpoint_encode(const registry_t *reg, ingest_t *ing, quota_counts_t *qt, const char *topic, int32_t partition,
                      int64_t next_offset, int64_t created_ms, checkpoint_owner_fn owner, void *ctx, uint8_t **out,
                      size_t *outlen, char *err, size_t errsz);

/* Replaces the state of every province in the checkpoint with its content
 * and returns its next offset in *next_offset (and, if not NULL, the
 * partition it was taken for and how many provinces it held). The caller
 * drops the partition's old state first (ingest_drop_partition). Units no
 * longer in the registry are skipped. -1 with a message when it does not
 * decode; the state may then be partly restored and must be dropped. */
int checkpoint_restore(const registry_t *reg, ingest_t *ing, quota_counts_t *qt, const void *data, size_t len,
                       int32_t partition, int64_t *next_offset, int64_t *created_ms, size_t *provinces, char *err,
                       size_t errsz);

#endif
