/* "ispeedctl report": the monthly report in the ministry's terms. */
#ifndef ISPEED_CTL_REPORT_H
#define ISPEED_CTL_REPORT_H

/* argv[0] is "report". Returns the exit status: 0, 1 failure, 2 bad usage. */
int report_main(int argc, char **argv);

#endif
