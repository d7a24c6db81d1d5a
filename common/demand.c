/* Demand arithmetic: samples still needed, days left, rates. */
#include "demand.h"

#include <math.h>
#include <string.h>

#define DAY_MS 86400000.0

void demand_compute(uint64_t count, uint32_t target, int64_t now_ms, int64_t month_start, int64_t month_end,
                    demand *out) {
    memset(out, 0, sizeof *out);
    out->needed = count >= target ? 0 : target - count;
    int64_t from = now_ms < month_start ? month_start : now_ms;
    out->days_left = from >= month_end ? 0.0 : (double)(month_end - from) / DAY_MS;
    double elapsed_days = now_ms <= month_start ? 0.0 : (double)((now_ms < month_end ? now_ms : month_end) - month_start) / DAY_MS;
    /* Under an hour of the month gone, a rate is noise: call it unknown. */
    out->rate_current = elapsed_days >= 1.0 / 24 ? (double)count / elapsed_days : 0.0;
    if (out->needed == 0) {
        out->will_make_it = 1;
        return;
    }
    /* The last minutes of a month need "everything now": bound the rate by
     * a minute left, so it stays finite. */
    double left = out->days_left > 1.0 / 1440 ? out->days_left : 1.0 / 1440;
    out->rate_needed = out->days_left > 0.0 ? (double)out->needed / left : 0.0;
    out->will_make_it = out->days_left > 0.0 && out->rate_current * out->days_left >= (double)out->needed;
}

uint32_t demand_recruit(double rate_needed, double per_agent_per_day, uint32_t agents) {
    if (rate_needed <= 0.0 || per_agent_per_day <= 0.0) return 0;
    double need = ceil(rate_needed / per_agent_per_day - 1e-9);
    if (need > 1e6) need = 1e6;
    return (uint32_t)need > agents ? (uint32_t)need - agents : 0;
}
