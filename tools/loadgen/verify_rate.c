/* ispeed-verify-rate: how many Ed25519 signatures of a sample-sized message
 * one core verifies per second with the collector's own code (common/sign.c,
 * libsodium). bench/collector.sh prints it next to kcat's raw consume rate:
 * every sample must be verified, so cores x this rate bounds the collector. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sign.h"
#include "vntime.h"

static double now_s(void) { return (double)vntime_mono_us() / 1e6; }

int main(int argc, char **argv) {
    double seconds = argc > 1 ? atof(argv[1]) : 2.0;
    uint8_t pk[SIGN_PUBLIC_BYTES], sk[SIGN_SECRET_BYTES], sig[SIGN_SIGNATURE_BYTES], msg[300];
    if (argc > 2 || !(seconds > 0.0) || (argc > 1 && !strcmp(argv[1], "--help"))) {
        fprintf(stderr, "usage: ispeed-verify-rate [SECONDS]  (default 2): verifications per second of one core\n");
        return 2;
    }
    if (sign_init() < 0 || sign_keypair(pk, sk) < 0) {
        fprintf(stderr, "ispeed-verify-rate: libsodium failed to initialise\n");
        return 1;
    }
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 7);
    sign_detached(sk, msg, sizeof msg, sig);
    long n = 0, bad = 0;
    double t0 = now_s(), t;
    do {
        for (int k = 0; k < 100; k++, n++) bad += sign_verify(pk, msg, sizeof msg, sig, sizeof sig) != 0;
        t = now_s();
    } while (t - t0 < seconds);
    if (bad) {
        fprintf(stderr, "ispeed-verify-rate: %ld of %ld verifications failed\n", bad, n);
        return 1;
    }
    printf("verify_per_s=%.0f us_each=%.1f\n", (double)n / (t - t0), (t - t0) * 1e6 / (double)n);
    return 0;
}
