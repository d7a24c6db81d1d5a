/* common/registry.c against Vietnam's real registries and broken files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "registry.h"
#include "tmpfile_fixture.h"

static char data_dir[512];

static registry_t *load_real(const char *name) {
    char path[700], err[512];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    registry_t *reg = registry_load(path, err, sizeof err);
    if (!reg) fail_msg("%s", err);
    return reg;
}

/* Every unit's parent exists, sits one level up, and its province is the
 * root of its chain. */
static void check_tree(const registry_t *reg) {
    int depth = registry_depth(reg);
    for (size_t i = 0; i < registry_size(reg); i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        assert_ptr_equal(registry_find(reg, u->code), u);
        if (u->level == REGISTRY_PROVINCE) {
            assert_null(u->parent);
            assert_ptr_equal(u->province, u);
            continue;
        }
        assert_non_null(u->parent);
        if (u->level == REGISTRY_DISTRICT || depth == 2)
            assert_int_equal(u->parent->level, REGISTRY_PROVINCE);
        else
            assert_int_equal(u->parent->level, REGISTRY_DISTRICT);
        const registry_unit *p = u;
        while (p->parent) p = p->parent;
        assert_ptr_equal(u->province, p);
    }
}

static void registry_2025_03_has_three_levels(void **state) {
    (void)state;
    registry_t *reg = load_real("vn-units-2025-03.csv");
    assert_int_equal(registry_count(reg, REGISTRY_PROVINCE), 63);
    assert_int_equal(registry_count(reg, REGISTRY_DISTRICT), 696);
    assert_int_equal(registry_count(reg, REGISTRY_COMMUNE), 10047);
    assert_int_equal(registry_size(reg), 10806);
    assert_int_equal(registry_depth(reg), 3);
    const registry_unit *u = registry_find(reg, "00001");
    assert_non_null(u);
    assert_string_equal(u->name, "Phường Phúc Xá");
    assert_string_equal(u->parent->code, "001");
    assert_string_equal(u->province->code, "01");
    assert_null(registry_find(reg, "99999"));
    check_tree(reg);
    registry_free(reg);
}

static void registry_2025_07_has_two_levels(void **state) {
    (void)state;
    registry_t *reg = load_real("vn-units-2025-07.csv");
    assert_int_equal(registry_count(reg, REGISTRY_PROVINCE), 34);
    assert_int_equal(registry_count(reg, REGISTRY_DISTRICT), 0);
    assert_int_equal(registry_count(reg, REGISTRY_COMMUNE), 3321);
    assert_int_equal(registry_depth(reg), 2);
    const registry_unit *u = registry_find(reg, "00004");
    assert_non_null(u);
    assert_string_equal(u->name, "Phường Ba Đình");
    assert_ptr_equal(u->parent, u->province);
    check_tree(reg);
    registry_free(reg);
}

/* Writes text to a temporary file and loads it; returns the error text. */
static registry_t *load_text(const char *text, char *err, size_t errsz) {
    char path[] = "/tmp/ispeed-registry-XXXXXX";
    fixture_write_tmp(path, text);
    registry_t *reg = registry_load(path, err, errsz);
    unlink(path);
    return reg;
}

static void registry_rejects_bad_files(void **state) {
    (void)state;
    char err[512];
    static const struct { const char *text, *needle; } cases[] = {
        {"code,level,parent,name,type\n01,province,,A,T\n00001,commune,009,X,Xã\n", "parent 009"},
        {"code,level,parent,name,type\n01,province,,A,T\n00001,village,01,X,Xã\n", "unknown level"},
        {"code,level,parent,name,type\n01,province,,A,T\n00001,commune,01,X\n", "expected 5 fields"},
        {"code,level,parent,name,type\n01,province,,A,T\n01,province,,B,T\n00001,commune,01,X,Xã\n", "appears twice"},
        {"code,level,parent,name,type\n01,province,,A,T\n001,district,01,D,Huyện\n00001,commune,01,X,Xã\n", "must be a district"},
        {"code,level,parent,name,type\n01,province,,A,T\n00001,commune,,X,Xã\n", "no parent"},
        {"code,level,parent,name,type\n01,province,,A,T\n", "at least one province and one commune"},
        /* The line of the record itself, blank lines counted. */
        {"code,level,parent,name,type\n\n01,province,,A,T\n\n00001,commune,01,X\n", "line 5: expected 5 fields"},
        {"code,level,parent,name,type\n01,province,,\"A,T\n", "line 2: expected 5 fields"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        err[0] = '\0';
        registry_t *reg = load_text(cases[i].text, err, sizeof err);
        assert_null(reg);
        if (!strstr(err, cases[i].needle)) fail_msg("case %zu: error '%s' lacks '%s'", i, err, cases[i].needle);
        assert_null(strchr(err, '\n'));
    }
    err[0] = '\0';
    assert_null(registry_load("/nonexistent/units.csv", err, sizeof err));
    assert_non_null(strstr(err, "/nonexistent/units.csv"));
    assert_non_null(strstr(err, "--units"));
}

static void registry_accepts_any_row_order_and_crlf(void **state) {
    (void)state;
    char err[512];
    registry_t *reg = load_text("code,level,parent,name,type\r\n00001,commune,001,X,Xã\r\n001,district,01,D,Huyện\r\n"
                                "01,province,,A,Tỉnh\r\n", err, sizeof err);
    if (!reg) fail_msg("%s", err);
    const registry_unit *u = registry_find(reg, "00001");
    assert_string_equal(u->type, "Xã");
    assert_string_equal(u->province->name, "A");
    registry_free(reg);
}

/* RFC 4180 names, as ispeedctl and spreadsheets write them. */
static void registry_reads_quoted_names(void **state) {
    (void)state;
    char err[512];
    registry_t *reg = load_text("code,level,parent,name,type\n01,province,,\"Tỉnh \"\"A\"\", B\",Tỉnh\n"
                                "00001,commune,01,\"Xã\nMới\",Xã\n", err, sizeof err);
    if (!reg) fail_msg("%s", err);
    assert_string_equal(registry_find(reg, "01")->name, "Tỉnh \"A\", B");
    assert_string_equal(registry_find(reg, "00001")->name, "Xã\nMới");
    registry_free(reg);
}

static void registry_branch_keeps_one_unit_and_its_ancestors(void **state) {
    (void)state;
    char path[700], err[512];
    snprintf(path, sizeof path, "%s/vn-units-2025-03.csv", data_dir);
    registry_t *reg = registry_load_branch(path, "00004", err, sizeof err);
    if (!reg) fail_msg("%s", err);
    assert_int_equal(registry_size(reg), 3);
    const registry_unit *u = registry_find(reg, "00004");
    assert_string_equal(u->name, "Phường Trúc Bạch");
    assert_string_equal(u->parent->code, "001");
    assert_string_equal(u->province->code, "01");
    assert_string_equal(u->province->name, "Thành phố Hà Nội");
    registry_free(reg);
    snprintf(path, sizeof path, "%s/vn-units-2025-07.csv", data_dir);
    reg = registry_load_branch(path, "00004", err, sizeof err);
    if (!reg) fail_msg("%s", err);
    assert_int_equal(registry_size(reg), 2);
    assert_string_equal(registry_find(reg, "00004")->name, "Phường Ba Đình");
    registry_free(reg);
    assert_null(registry_load_branch(path, "99999", err, sizeof err));
    assert_non_null(strstr(err, "unknown unit code '99999'"));
    /* A prefix of a code is not the code. */
    assert_null(registry_load_branch(path, "0000", err, sizeof err));
    /* No code at all is refused with a message, not parsed as an empty file
     * (fuzz_registry found that one). */
    err[0] = '\0';
    assert_null(registry_load_branch(path, "", err, sizeof err));
    assert_non_null(strstr(err, "is not a GSO code"));
    char orphan[] = "/tmp/ispeed-branch-XXXXXX";
    fixture_write_tmp(orphan, "code,level,parent,name,type\n00001,commune,777,X,Xã\n");
    assert_null(registry_load_branch(orphan, "00001", err, sizeof err));
    assert_non_null(strstr(err, "parent 777"));
    unlink(orphan);
}

int main(void) {
    const char *dir = getenv("ISPEED_DATA_DIR");
    snprintf(data_dir, sizeof data_dir, "%s", dir ? dir : ISPEED_DATA_DIR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(registry_2025_03_has_three_levels),
        cmocka_unit_test(registry_2025_07_has_two_levels),
        cmocka_unit_test(registry_rejects_bad_files),
        cmocka_unit_test(registry_accepts_any_row_order_and_crlf),
        cmocka_unit_test(registry_reads_quoted_names),
        cmocka_unit_test(registry_branch_keeps_one_unit_and_its_ancestors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
