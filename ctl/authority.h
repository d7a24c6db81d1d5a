/* `ispeedctl authority init` and `ispeedctl token issue`: a province's
 * enrollment authority key and the tokens it signs (SPEC: Trust). */
#ifndef ISPEED_CTL_AUTHORITY_H
#define ISPEED_CTL_AUTHORITY_H

/* argv[0] is "authority" / "token"; return the exit status. */
int authority_main(int argc, char **argv);
int token_main(int argc, char **argv);

#endif
