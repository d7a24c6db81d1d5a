/* Which <prefix>quota.<province> topics a reading subcommand reads (quota,
 * report, serve): one answer of the broker's metadata, filtered by the
 * provinces asked for or the registry's provinces. */
#ifndef ISPEED_CTL_QUOTA_TOPICS_H
#define ISPEED_CTL_QUOTA_TOPICS_H

#include <stddef.h>

#include "cli.h"
#include "registry.h"

/* The quota topics there are now, sorted, into *topics (NULL-terminated;
 * free with quota_topics_free) and *n. With provinces given, only theirs;
 * otherwise every <prefix>quota.<code> whose code is one part and, with a
 * registry, one of its provinces (the others are named on stderr after
 * "ispeedctl CMD:"). Returns 0, or -1 with a message in err, also when no
 * topic is left. */
int quota_topics_pick(const cli_cmd *cmd, const cli_common *common, const registry_t *reg,
                      const char *const *provinces, size_t nprovinces, char ***topics, size_t *n, char *err,
                      size_t errsz);
void quota_topics_free(char **topics);

#endif
