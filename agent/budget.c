/* Data budget arithmetic. */
#include "budget.h"

#include <string.h>

#include "vntime.h"

uint64_t budget_cap(uint64_t configured, int unlimited, int mobile) {
    if (unlimited) return 0;
    if (configured) return configured;
    return mobile ? BUDGET_MOBILE_DEFAULT : 0;
}

void budget_roll(budget *b, int64_t now_ms) {
    char month[8];
    vntime_month(now_ms, month);
    if (strcmp(month, b->month) != 0) {
        memcpy(b->month, month, sizeof month);
        b->used = 0;
    }
}

int budget_allows(const budget *b, uint64_t cap, uint64_t estimate) {
    return cap == 0 || (b->used <= cap && estimate <= cap - b->used);
}

uint64_t budget_remaining(const budget *b, uint64_t cap) {
    if (cap == 0) return UINT64_MAX;
    return b->used >= cap ? 0 : cap - b->used;
}
