/* How many distinct agents contributed to a counter this month: 300 samples
 * from one machine are not 300 samples of a commune. Bounded whatever the
 * input: exact (a sorted set of 64-bit hashes of agent ids) up to
 * DISTINCT_EXACT_MAX agents, then a HyperLogLog of DISTINCT_HLL_REGS
 * registers (one byte each, about 6.5% standard error). Most communes have
 * a handful of volunteers and stay exact, at 8 bytes an agent (room for 2,
 * then doubled); a province past the bound costs 256 bytes. The wire form survives checkpoints and merges exactly. */
#ifndef ISPEED_COLLECTOR_DISTINCT_H
#define ISPEED_COLLECTOR_DISTINCT_H

#include <stddef.h>
#include <stdint.h>

#define DISTINCT_EXACT_MAX 32
#define DISTINCT_HLL_BITS 8
#define DISTINCT_HLL_REGS (1u << DISTINCT_HLL_BITS)
/* Largest distinct_encode output: a tag byte and the registers, or a tag
 * byte and the exact set (the same 257 bytes with these bounds). */
#define DISTINCT_ENCODED_MAX                                                                                       \
    (1 + (DISTINCT_HLL_REGS > DISTINCT_EXACT_MAX * 8 ? DISTINCT_HLL_REGS : DISTINCT_EXACT_MAX * 8))

typedef struct distinct distinct_t;

/* The 64-bit hash distinct_add counts: fixed (unseeded), so a checkpoint
 * restored by another process counts the same agent as the same. Agent ids
 * are derived from enrolled keys, so they cannot be picked to collide. */
uint64_t distinct_hash(const char *id);

/* Adds an agent id (or its distinct_hash) to *d, allocating on first use;
 * *d may move (the set grows, or turns into the sketch). -1 when out of
 * memory (*d stays valid). */
int distinct_add(distinct_t **d, const char *id);
int distinct_add_hash(distinct_t **d, uint64_t h);

/* The count: exact below the bound, the HyperLogLog estimate (with linear
 * counting while registers are empty) above it. 0 for NULL. */
uint32_t distinct_count(const distinct_t *d);
/* 1 while the count is exact. */
int distinct_is_exact(const distinct_t *d);

/* Wire form (UnitCount.agents): tag 1 and the hashes (8 bytes little-endian
 * each, ascending), or tag 2 and the registers; empty for NULL. out must
 * hold DISTINCT_ENCODED_MAX bytes. */
size_t distinct_encode(const distinct_t *d, uint8_t *out);
/* Replaces *d with the decoded set (NULL for empty input). -1 on malformed
 * bytes or out of memory, *d then unchanged. */
int distinct_decode(distinct_t **d, const uint8_t *in, size_t len);

void distinct_free(distinct_t *d);

#endif
