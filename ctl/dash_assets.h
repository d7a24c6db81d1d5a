/* The dashboard's pages, scripts, styles and tile layouts, built into the
 * binary from ctl/web/ at build time (web/embed.cmake writes the table), so
 * the server needs no files beside it and no page loads anything from
 * elsewhere. */
#ifndef ISPEED_CTL_DASH_ASSETS_H
#define ISPEED_CTL_DASH_ASSETS_H

#include <stddef.h>

typedef struct dash_asset {
    const char *name; /* file name under ctl/web/, e.g. "dash.js" */
    const unsigned char *data;
    size_t len;
} dash_asset;

extern const dash_asset dash_assets[];
extern const size_t dash_assets_count;

#endif
