/* "ispeedctl samples": the samples topic decoded, one line per sample. */
#ifndef ISPEED_CTL_SAMPLES_H
#define ISPEED_CTL_SAMPLES_H

#include <stdio.h>

#include "ispeed.pb-c.h"

/* argv[0] is "samples". Returns the exit status: 0, 1 failure, 2 bad usage. */
int samples_main(int argc, char **argv);

/* One sample as one line of text, or as one JSON object on one line. */
void samples_print_text(FILE *out, const Ispeed__V1__Sample *s);
void samples_print_json(FILE *out, const Ispeed__V1__Sample *s);

#endif
