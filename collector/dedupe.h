/* De-duplication of samples by their identity (agent_id, seq): per agent the
 * highest sequence seen and a bitmap of the DEDUPE_WINDOW sequences below it,
 * so memory per agent is bounded whatever the producer or spool replays. */
#ifndef ISPEED_COLLECTOR_DEDUPE_H
#define ISPEED_COLLECTOR_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

#define DEDUPE_WINDOW 1024 /* sequences remembered below the highest; 128 bytes per agent */

typedef struct dedupe dedupe_t;

dedupe_t *dedupe_new(void);
void dedupe_free(dedupe_t *dd);

enum dedupe_verdict {
    DEDUPE_NEW = 0,       /* first time: now remembered */
    DEDUPE_SEEN = 1,      /* counted before */
    DEDUPE_TOO_OLD = 2,   /* below the window: cannot tell, so never counted twice */
};
/* Checks and records (agent_id, seq). -1 when out of memory. */
int dedupe_mark(dedupe_t *dd, const char *agent_id, uint64_t seq);
size_t dedupe_agents(const dedupe_t *dd);

/* For checkpoints: every agent's mark, the window as DEDUPE_WINDOW / 8 bytes
 * (bit i of byte i / 8 is sequence high - i). fn returning non-zero stops. */
typedef int (*dedupe_mark_fn)(const char *agent_id, uint64_t high, const uint8_t *window, size_t len, void *ctx);
void dedupe_foreach(const dedupe_t *dd, dedupe_mark_fn fn, void *ctx);
/* Sets an agent's mark as dedupe_foreach gave it (a shorter window is
 * padded with zeros, a longer one cut). -1 when out of memory. */
int dedupe_restore(dedupe_t *dd, const char *agent_id, uint64_t high, const uint8_t *window, size_t len);

#endif
