/* common/hashmap.c: a map that behaves like a map under any seed, and whose
 * hash depends on its seed (agent-chosen keys cannot be aimed at a bucket
 * without knowing it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hashmap.h"

static int is_odd(const char *key, void *value, void *ctx) {
    (void)key;
    (void)ctx;
    return (intptr_t)value % 2 == 1;
}

static int sum(const char *key, void *value, void *ctx) {
    (void)key;
    *(intptr_t *)ctx += (intptr_t)value;
    return 0;
}

static void put_get_remove_grow(void **state) {
    (void)state;
    hashmap_t *m = hashmap_new(NULL);
    char key[32];
    void *old = (void *)1;
    assert_non_null(m);
    /* Past many doublings of the 64 initial buckets. */
    for (intptr_t i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "agent-%ld", (long)i);
        assert_int_equal(hashmap_put(m, key, (void *)i, &old), 0);
        assert_null(old);
    }
    assert_int_equal(hashmap_size(m), 5000);
    for (intptr_t i = 1; i <= 5000; i++) {
        snprintf(key, sizeof key, "agent-%ld", (long)i);
        assert_int_equal((intptr_t)hashmap_get(m, key), i);
    }
    assert_null(hashmap_get(m, "agent-0"));
    assert_int_equal(hashmap_put(m, "agent-7", (void *)70, &old), 0);
    assert_int_equal((intptr_t)old, 7);
    assert_int_equal(hashmap_size(m), 5000);
    assert_int_equal((intptr_t)hashmap_remove(m, "agent-7"), 70);
    assert_null(hashmap_remove(m, "agent-7"));
    assert_int_equal(hashmap_size(m), 4999);
    /* 1..5000 without 7: 2500 even values stay, 2499 odd ones go. */
    assert_int_equal(hashmap_remove_if(m, is_odd, NULL, NULL), 2499);
    assert_int_equal(hashmap_size(m), 2500);
    intptr_t total = 0;
    hashmap_foreach(m, sum, &total);
    assert_int_equal(total, 2 * (2500 * 2501 / 2));
    hashmap_free(m, NULL);
    hashmap_free(NULL, NULL);
}

static void seeds_change_the_hash(void **state) {
    (void)state;
    hashmap_seed a, b, zero;
    memset(&zero, 0, sizeof zero);
    hashmap_seed_random(&a);
    hashmap_seed_random(&b);
    assert_memory_not_equal(a.key, b.key, sizeof a.key);
    assert_memory_not_equal(a.key, zero.key, sizeof a.key);
    /* Same seed, same hash; another seed, another hash. */
    assert_true(hashmap_hash(&a, "00004", 5) == hashmap_hash(&a, "00004", 5));
    assert_true(hashmap_hash(&a, "00004", 5) != hashmap_hash(&b, "00004", 5));
    /* SipHash-2-4's published test vector: key 00..0f, empty message. */
    hashmap_seed v;
    for (int i = 0; i < 16; i++) v.key[i] = (unsigned char)i;
    assert_true(hashmap_hash(&v, "", 0) == 0x726fdb47dd0e0e31ULL);
    /* A map under a given seed works as under a random one. */
    hashmap_t *m = hashmap_new(&v);
    assert_non_null(m);
    assert_int_equal(hashmap_put(m, "k", (void *)5, NULL), 0);
    assert_int_equal((intptr_t)hashmap_get(m, "k"), 5);
    hashmap_free(m, NULL);
}

static void free_value_sees_every_value(void **state) {
    (void)state;
    hashmap_t *m = hashmap_new(NULL);
    assert_non_null(m);
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "%d", i);
        char *v = strdup(key);
        assert_int_equal(hashmap_put(m, key, v, NULL), 0);
    }
    hashmap_free(m, free); /* the sanitizer build finds a leak if one is missed */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_remove_grow),
        cmocka_unit_test(seeds_change_the_hash),
        cmocka_unit_test(free_value_sees_every_value),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
