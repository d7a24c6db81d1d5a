/* Which quota class a test belongs to, from the interface of the default
 * route: a cellular modem (wwan, ppp, usb, rmnet) is mobile, anything else
 * fixed (SPEC: Quotas). */
#ifndef ISPEED_NETCLASS_H
#define ISPEED_NETCLASS_H

#include <stddef.h>

/* Values are ISPEED__V1__ACCESS_TYPE__* and ISPEED__V1__NETWORK__*. */
typedef struct netclass {
    int access;
    int network;
    char interface[32]; /* "" when there is no default route */
} netclass;

/* Reads route_file (normally /proc/net/route). */
void netclass_detect(const char *route_file, netclass *out);
/* Classifies an interface name. */
void netclass_from_interface(const char *ifname, netclass *out);
/* Parses a configured access type: fixed, wifi, 4g, 5g; -1 if unknown. */
int netclass_parse_access(const char *s, netclass *out);

#endif
