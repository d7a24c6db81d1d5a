#include "quota_topics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topic_reader.h"

int quota_topics_pick(const cli_cmd *cmd, const cli_common *common, const registry_t *reg,
                      const char *const *provinces, size_t nprovinces, char ***topics, size_t *n, char *err,
                      size_t errsz) {
    char prefix[256], **names;
    size_t count, k = 0;
    int code;
    *topics = NULL;
    *n = 0;
    snprintf(prefix, sizeof prefix, "%squota.", common->prefix);
    if (topic_reader_list(common->bootstrap, &common->props, prefix, &names, &count, &code, err, errsz) < 0)
        return -1;
    for (size_t i = 0; i < count; i++) {
        const char *p = names[i] + strlen(prefix);
        int keep = 0;
        if (nprovinces) {
            for (size_t j = 0; j < nprovinces; j++) keep |= strcmp(provinces[j], p) == 0;
        } else if (*p && !strchr(p, '.')) {
            const registry_unit *u = reg ? registry_find(reg, p) : NULL;
            keep = !reg || (u && u->level == REGISTRY_PROVINCE);
            if (!keep) fprintf(stderr, "ispeedctl %s: skipping topic %s: no province %s in the registry\n", cmd->name,
                               names[i], p);
        }
        if (keep) names[k++] = names[i];
        else free(names[i]);
    }
    names[k] = NULL;
    if (k == 0) {
        free(names);
        if (nprovinces)
            snprintf(err, errsz, "no quota topic %s%s%s: unknown province or no collector has published yet", prefix,
                     provinces[0], nprovinces > 1 ? " (nor of the other --province)" : "");
        else
            snprintf(err, errsz, "no quota topics %s*: no collector has published yet, or check --topic-prefix",
                     prefix);
        return -1;
    }
    *topics = names;
    *n = k;
    return 0;
}

void quota_topics_free(char **topics) {
    for (size_t i = 0; topics && topics[i]; i++) free(topics[i]);
    free(topics);
}
