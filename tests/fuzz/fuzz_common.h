/* What the fuzz target and its seed generator must agree on: the registry,
 * the enrolled agent and the clock. */
#ifndef ISPEED_FUZZ_COMMON_H
#define ISPEED_FUZZ_COMMON_H

/* Three levels, two provinces: enough for every validation branch. */
#define FUZZ_REGISTRY_CSV                                                                                         \
    "code,level,parent,name,type\n"                                                                               \
    "01,province,,Thành phố Hà Nội,Thành phố Trung ương\n"                                                      \
    "001,district,01,Quận Ba Đình,Quận\n"                                                                        \
    "00001,commune,001,Phường Phúc Xá,Phường\n"                                                                  \
    "00004,commune,001,Phường Trúc Bạch,Phường\n"                                                                \
    "02,province,,Tỉnh Hà Giang,Tỉnh\n"                                                                          \
    "024,district,02,Thành phố Hà Giang,Thành phố\n"                                                            \
    "00688,commune,024,Phường Quang Trung,Phường\n"

#define FUZZ_AGENT_SEED 4242ULL       /* synth_agent_init(seed, 0) is enrolled */
#define FUZZ_NOW_MS 1752537600000LL   /* 2025-07-15 00:00 UTC */
#define FUZZ_COMMUNE "00004"

/* Input layout: byte 0 mode, byte 1 key length (mod 8), the key, the value.
 * mode 0: value is a SignedSample as found on the samples topic.
 * mode 1: value is a Sample; the harness signs it with the enrolled agent's
 *         key, so the checks after the signature are reached.
 * mode 2: value is an AgentEnrollment for the agents table. */
enum fuzz_mode { FUZZ_SIGNED = 0, FUZZ_RESIGN = 1, FUZZ_ENROLL = 2, FUZZ_MODES = 3 };

#endif
