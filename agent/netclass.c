/* Default-route interface classification. */
#include "netclass.h"

#include <stdio.h>
#include <string.h>

#include "ispeed.pb-c.h"

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

void netclass_from_interface(const char *ifname, netclass *out) {
    static const char *const cellular[] = {"wwan", "wwp", "ppp", "usb", "rmnet", "ccmni"};
    snprintf(out->interface, sizeof out->interface, "%s", ifname);
    for (size_t i = 0; i < sizeof cellular / sizeof *cellular; i++) {
        if (has_prefix(ifname, cellular[i])) {
            /* 4G unless configured: a modem does not tell the route table its RAT. */
            out->access = ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_4G;
            out->network = ISPEED__V1__NETWORK__NETWORK_MOBILE;
            return;
        }
    }
    out->access = has_prefix(ifname, "wl") ? ISPEED__V1__ACCESS_TYPE__ACCESS_WIFI
                                           : ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED;
    out->network = ISPEED__V1__NETWORK__NETWORK_FIXED;
}

void netclass_detect(const char *route_file, netclass *out) {
    char line[256], ifname[32];
    unsigned long dest, mask;
    FILE *f = fopen(route_file, "r");
    memset(out, 0, sizeof *out);
    out->access = ISPEED__V1__ACCESS_TYPE__ACCESS_UNKNOWN;
    out->network = ISPEED__V1__NETWORK__NETWORK_FIXED;
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        /* Iface Destination Gateway Flags RefCnt Use Metric Mask ... */
        if (sscanf(line, "%31s %lx %*x %*x %*d %*d %*d %lx", ifname, &dest, &mask) == 3 && dest == 0 && mask == 0) {
            netclass_from_interface(ifname, out);
            break;
        }
    }
    fclose(f);
}

int netclass_parse_access(const char *s, netclass *out) {
    static const struct { const char *name; int access, network; } table[] = {
        {"fixed", ISPEED__V1__ACCESS_TYPE__ACCESS_FIXED, ISPEED__V1__NETWORK__NETWORK_FIXED},
        {"wifi", ISPEED__V1__ACCESS_TYPE__ACCESS_WIFI, ISPEED__V1__NETWORK__NETWORK_FIXED},
        {"4g", ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_4G, ISPEED__V1__NETWORK__NETWORK_MOBILE},
        {"5g", ISPEED__V1__ACCESS_TYPE__ACCESS_MOBILE_5G, ISPEED__V1__NETWORK__NETWORK_MOBILE},
    };
    for (size_t i = 0; i < sizeof table / sizeof *table; i++) {
        if (strcmp(s, table[i].name) == 0) {
            out->access = table[i].access;
            out->network = table[i].network;
            return 0;
        }
    }
    return -1;
}
