/* "ispeedctl alerts": the alerts topic, one line per state transition. */
#ifndef ISPEED_CTL_ALERTS_H
#define ISPEED_CTL_ALERTS_H

#include <stdio.h>

#include "ispeed.pb-c.h"

/* argv[0] is "alerts". Returns the exit status: 0, 1 failure, 2 bad usage. */
int alerts_main(int argc, char **argv);

/* One alert as one line of text, or as one JSON object on one line. */
void alerts_print_text(FILE *out, const Ispeed__V1__Alert *a);
void alerts_print_json(FILE *out, const Ispeed__V1__Alert *a);

#endif
