/* Test-server URLs (see http_url.h and the rule in measure.h). */
#include "http_url.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>


/* LibreSpeed when told (#librespeed), when the path names a .php file or a
 * "backend" directory (LibreSpeed's own layout), or mentions librespeed. */
static int looks_librespeed(const char *path, const char *frag) {
    size_t n = strlen(path);

    if (strcasecmp(frag, "librespeed") == 0) return 1;
    if (strstr(path, ".php") || strcasestr(path, "librespeed")) return 1;
    while (n > 0 && path[n - 1] == '/') n--;
    return n >= 8 && strncmp(path + n - 8, "/backend", 8) == 0;
}

int http_url_parse(const char *url, http_url *u, char *err, size_t errsz) {
    const char *p, *hend, *pstart;
    char path[256], frag[32] = "";
    size_t hl, pl;
    const char *hash;

    memset(u, 0, sizeof *u);
    if (strncasecmp(url, "https://", 8) == 0) {
        snprintf(err, errsz, "server %s: https is not supported, use an http:// URL", url);
        return -1;
    }
    if (strncasecmp(url, "http://", 7) != 0) {
        snprintf(err, errsz, "server %s: not an http:// URL, write e.g. http://host:8080", url);
        return -1;
    }
    p = url + 7;
    hash = strchr(p, '#');
    if (hash) snprintf(frag, sizeof frag, "%s", hash + 1);
    pstart = p + strcspn(p, "/?#");
    if (p[0] == '[') {
        hend = strchr(p, ']');
        if (!hend || hend > pstart) goto bad;
        hl = (size_t)(hend - p - 1);
        if (hl == 0 || hl >= sizeof u->host) goto bad;
        memcpy(u->host, p + 1, hl);
        hend++;
    } else {
        hend = p + strcspn(p, ":/?#");
        hl = (size_t)(hend - p);
        if (hl == 0 || hl >= sizeof u->host) goto bad;
        memcpy(u->host, p, hl);
    }
    if (*hend == ':') {
        size_t l = (size_t)(pstart - hend - 1);
        if (l == 0 || l >= sizeof u->port || strspn(hend + 1, "0123456789") < l) goto bad;
        memcpy(u->port, hend + 1, l);
        int v = 0;
        sscanf(u->port, "%d", &v);
        if (v < 1 || v > 65535) goto bad;
    } else if (hend != pstart) {
        goto bad;
    } else {
        snprintf(u->port, sizeof u->port, "80");
    }
    if (strchr(u->host, ':'))
        snprintf(u->hostport, sizeof u->hostport, "[%s]%s%s", u->host, *hend == ':' ? ":" : "",
                 *hend == ':' ? u->port : "");
    else
        snprintf(u->hostport, sizeof u->hostport, "%s%s%s", u->host, *hend == ':' ? ":" : "",
                 *hend == ':' ? u->port : "");

    pl = strcspn(pstart, "?#");
    if (pl >= sizeof path) goto bad;
    memcpy(path, pstart, pl);
    path[pl] = '\0';
    u->librespeed = looks_librespeed(path, frag);
    /* A .php file names the backend directory it sits in. */
    if (u->librespeed && pl >= 4 && strcmp(path + pl - 4, ".php") == 0) {
        char *slash = strrchr(path, '/');
        if (slash) *slash = '\0';
    }
    pl = strlen(path);
    while (pl > 0 && path[pl - 1] == '/') path[--pl] = '\0';
    if (strpbrk(path, " \t\r\n")) goto bad;
    memcpy(u->prefix, path, pl + 1);
    return 0;
bad:
    snprintf(err, errsz, "server %s: malformed URL, write e.g. http://host:8080 or http://[::1]:8080/prefix", url);
    return -1;
}

void http_url_target(const http_url *u, enum http_url_kind kind, uint64_t bytes, unsigned seq, char *out,
                     size_t outsz) {
    if (u->librespeed) {
        uint64_t mib = (bytes + (1u << 20) - 1) >> 20;
        if (mib < 1) mib = 1;
        if (mib > 1024) mib = 1024;
        switch (kind) {
        case HTTP_URL_PING: snprintf(out, outsz, "%s/empty.php?r=%u", u->prefix, seq); break;
        case HTTP_URL_DOWNLOAD:
            snprintf(out, outsz, "%s/garbage.php?r=%u&ckSize=%llu", u->prefix, seq, (unsigned long long)mib);
            break;
        case HTTP_URL_UPLOAD: snprintf(out, outsz, "%s/empty.php?r=%u", u->prefix, seq); break;
        }
        return;
    }
    switch (kind) {
    case HTTP_URL_PING: snprintf(out, outsz, "%s/ispeed/v1/ping", u->prefix); break;
    case HTTP_URL_DOWNLOAD:
        snprintf(out, outsz, "%s/ispeed/v1/download?bytes=%llu%s%s", u->prefix, (unsigned long long)bytes,
                 u->ticket[0] ? "&ticket=" : "", u->ticket);
        break;
    case HTTP_URL_UPLOAD:
        snprintf(out, outsz, "%s/ispeed/v1/upload%s%s", u->prefix, u->ticket[0] ? "?ticket=" : "", u->ticket);
        break;
    }
}
