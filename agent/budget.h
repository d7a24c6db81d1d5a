/* The monthly data budget of a volunteer's metered link: how much this
 * month's tests used, whether the next one fits. The month is Vietnam's. */
#ifndef ISPEED_BUDGET_H
#define ISPEED_BUDGET_H

#include <stdint.h>

#define BUDGET_MOBILE_DEFAULT (2ull << 30)

typedef struct budget {
    char month[8];       /* "YYYY-MM" the usage belongs to */
    uint64_t used;       /* bytes moved by this month's tests */
} budget;

/* The cap for a configuration: 0 means unlimited. */
uint64_t budget_cap(uint64_t configured, int unlimited, int mobile);
/* Starts a new month's count when now is past the stored month. */
void budget_roll(budget *b, int64_t now_ms);
/* 1 when a test expected to move `estimate` bytes fits under cap. */
int budget_allows(const budget *b, uint64_t cap, uint64_t estimate);
/* What is left under cap (UINT64_MAX when unlimited). */
uint64_t budget_remaining(const budget *b, uint64_t cap);

#endif
