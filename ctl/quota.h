/* "ispeedctl quota": a province's quota table for one month. */
#ifndef ISPEED_CTL_QUOTA_H
#define ISPEED_CTL_QUOTA_H

/* argv[0] is "quota". Returns the exit status: 0, 1 failure, 2 bad usage. */
int quota_main(int argc, char **argv);

#endif
