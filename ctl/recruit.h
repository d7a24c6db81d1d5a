/* "ispeedctl recruit": the communes of a province that cannot reach the
 * target this month with the volunteers they have, even at the floor
 * interval, and how many more each needs, per network class. */
#ifndef ISPEED_CTL_RECRUIT_H
#define ISPEED_CTL_RECRUIT_H

/* argv[0] is "recruit". Returns the exit status: 0, 1 failure, 2 bad usage. */
int recruit_main(int argc, char **argv);

#endif
