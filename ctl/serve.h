/* "ispeedctl serve": the live dashboard in the browser. */
#ifndef ISPEED_CTL_SERVE_H
#define ISPEED_CTL_SERVE_H

int serve_main(int argc, char **argv);

#endif
