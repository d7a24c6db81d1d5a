/* The names of the schema's enums, one spelling each, for every program's
 * output and input: the same word in the agent's JSON, ispeedctl's tables,
 * the collector's metrics and the test tools. A value outside the schema
 * (a newer agent's) is "unknown" everywhere. */
#ifndef ISPEED_PBNAMES_H
#define ISPEED_PBNAMES_H

#define PBNAMES_UNKNOWN "unknown"

/* ok, unreachable, refused, http_error, closed, stalled, protocol_error,
 * timeout, internal. */
const char *pbnames_outcome(int outcome);
/* fixed, wifi, 4g, 5g (the agent's access key spells them so). */
const char *pbnames_access(int access);
/* fixed, mobile. */
const char *pbnames_network(int network);
/* province, district, commune. */
const char *pbnames_level(int level);
/* ON_TRACK, BEHIND, MET. */
const char *pbnames_quota_state(int state);

/* The reverse, exact spelling; 0 and the value in *out, or -1 when s is no
 * name of that enum. */
int pbnames_parse_outcome(const char *s, int *out);
int pbnames_parse_access(const char *s, int *out);
int pbnames_parse_network(const char *s, int *out);
int pbnames_parse_level(const char *s, int *out);
int pbnames_parse_quota_state(const char *s, int *out);

/* The network class an access type counts in: wifi and fixed are fixed, 4g
 * and 5g mobile; 0 (unspecified) for unknown. */
int pbnames_access_network(int access);

#endif
