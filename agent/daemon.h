/* `ispeed-agent run`: scheduled tests, spool, delivery, until SIGTERM. */
#ifndef ISPEED_DAEMON_H
#define ISPEED_DAEMON_H

#include <stddef.h>

#include "config.h"

/* Returns 0 on a clean stop (also when no commune is configured yet, so a
 * freshly installed package stays idle instead of restarting), -1 with err
 * on failure. */
int daemon_run(const agent_config *cfg, char *err, size_t errsz);

#endif
