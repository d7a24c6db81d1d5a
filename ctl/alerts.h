/* "ispeedctl alerts": the alerts topic, one line per state transition. */
#ifndef ISPEED_CTL_ALERTS_H
#define ISPEED_CTL_ALERTS_H

#include <stdint.h>
#include <stdio.h>

#include "ispeed.pb-c.h"

/* argv[0] is "alerts". Returns the exit status: 0, 1 failure, 2 bad usage. */
int alerts_main(int argc, char **argv);

#include "registry.h"

/* The unit's name with the names of the units above it, "Phường Phúc Xá,
 * Quận Ba Đình, Thành phố Hà Nội", from the registry (reg may be NULL);
 * without it, or for a unit it lacks, the alert's name and parent codes:
 * "Phường Phúc Xá (001, 01)". */
void alerts_full_name(const registry_t *reg, const Ispeed__V1__Alert *a, char *out, size_t outsz);

/* One alert as one line of text, or as one JSON object on one line; JSON
 * also says where the alert is on the topic (partition, offset): a unit's
 * alerts are in one partition, in the order they were published. */
void alerts_print_text(FILE *out, const Ispeed__V1__Alert *a, const char *full_name);
void alerts_print_json(FILE *out, const Ispeed__V1__Alert *a, const char *full_name, int32_t partition,
                       int64_t offset);

#endif
