/* "ispeedctl acl apply": creates the ALLOW ACLs of ispeed's principals that
 * are missing and deletes those of the same principals that are not in the
 * plan, printing each change; --check prints the drift and changes nothing. */
#include "acl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "cli.h"

#define ACL_DEFAULT_UNITS "/usr/share/ispeed-collector/units.csv"
#define ACL_DEFAULT_GROUP "ispeed-collector"

enum { OPT_UNITS = 256, OPT_GROUP, OPT_CHECK };

static const opttab_def acl_opts[] = {
    {.name = "units", .type = OPTTAB_CALL, .id = OPT_UNITS, .metavar = "FILE",
     .help = "registry CSV: one province-<code> principal per province (default " ACL_DEFAULT_UNITS ")"},
    {.name = "collector-group", .type = OPTTAB_CALL, .id = OPT_GROUP, .metavar = "ID",
     .help = "the collectors' consumer group (default " ACL_DEFAULT_GROUP ", the collector's --group)"},
    {.name = "check", .type = OPTTAB_CALL_FLAG, .id = OPT_CHECK, .help = "change nothing; print the drift and exit 1 if there is any"},
    {.name = NULL}};

static const cli_cmd acl_cmd = {
    "acl apply", "-b BOOTSTRAP [--units FILE] [--collector-group ID] [--check]",
    "Gives each SCRAM principal what it uses and nothing else (see ctl/README.md):\n"
    "  agent            write samples and agents; read the quota topics (closed loop)\n"
    "  collector        read samples, agents, alerts, collector.state; write quota.*,\n"
    "                   alerts, dlq, collector.state; its consumer group\n"
    "  province-<code>  read its own quota topic and alerts\n"
    "  operator         everything (topics under the prefix, groups, the cluster)\n"
    "Run it as a super user (operator). ACLs of these principals that are not in\n"
    "the plan are deleted; other principals' ACLs are left alone.\n"
    "The collector's transactions also need WRITE on the transactional ids\n"
    "<prefix>collector.*, a resource librdkafka 2.0.2 cannot create: apply and\n"
    "--check say so on stderr while it is missing, with the kafka-acls command\n"
    "that adds it (deploy/kafka/cluster.sh acl runs it on a local cluster).",
    acl_opts};

struct acl_args {
    const char *units;
    const char *group;
    int check;
};

static int acl_apply_opt(int id, const char *arg, void *ctx, char *err, size_t errsz) {
    struct acl_args *a = ctx;
    (void)err;
    (void)errsz;
    switch (id) {
    case OPT_UNITS: a->units = arg; return 0;
    case OPT_GROUP: a->group = arg; return 0;
    case OPT_CHECK: a->check = 1; return 0;
    }
    return -1;
}

struct plan {
    acl_rule *r;
    size_t n, cap;
    const char *prefix;
};

static int add(struct plan *p, const char *user, rd_kafka_ResourceType_t rt, rd_kafka_ResourcePatternType_t pat,
               const char *name, int prefixed_name, rd_kafka_AclOperation_t op) {
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        acl_rule *r = realloc(p->r, cap * sizeof *r);
        if (!r) return -1;
        p->r = r;
        p->cap = cap;
    }
    acl_rule *a = &p->r[p->n++];
    memset(a, 0, sizeof *a);
    a->restype = rt;
    a->pattern = pat;
    if (prefixed_name) kafka_topic_name(a->name, sizeof a->name, p->prefix, name);
    else snprintf(a->name, sizeof a->name, "%s", name);
    snprintf(a->principal, sizeof a->principal, "User:%s", user);
    a->op = op;
    return 0;
}

#define T RD_KAFKA_RESOURCE_TOPIC
#define G RD_KAFKA_RESOURCE_GROUP
#define LIT RD_KAFKA_RESOURCE_PATTERN_LITERAL
#define PRE RD_KAFKA_RESOURCE_PATTERN_PREFIXED
#define READ RD_KAFKA_ACL_OPERATION_READ
#define WRITE RD_KAFKA_ACL_OPERATION_WRITE
#define ALL RD_KAFKA_ACL_OPERATION_ALL

int acl_plan(const registry_t *reg, const char *prefix, const char *collector_group, acl_rule **out, size_t *n,
             char *err, size_t errsz) {
    struct plan p = {.prefix = prefix};
    int bad = 0;
    /* READ and WRITE imply DESCRIBE (metadata); WRITE on a topic also allows
     * the idempotent producer (KIP-679, Kafka 2.8+): no cluster right. */
    bad |= add(&p, "agent", T, LIT, "samples", 1, WRITE);
    bad |= add(&p, "agent", T, LIT, "agents", 1, WRITE);
    /* All agents share one principal, so "its province's" quota topic is
     * every quota topic; quota counts are not secret, samples are. */
    bad |= add(&p, "agent", T, PRE, "quota.", 1, READ);
    bad |= add(&p, "agent", G, PRE, "ispeed-agent", 0, READ);

    bad |= add(&p, "collector", T, LIT, "samples", 1, READ);
    bad |= add(&p, "collector", T, LIT, "agents", 1, READ);
    bad |= add(&p, "collector", T, LIT, "alerts", 1, READ); /* last state per unit on restart */
    bad |= add(&p, "collector", T, LIT, "alerts", 1, WRITE);
    bad |= add(&p, "collector", T, LIT, "collector.state", 1, READ);
    bad |= add(&p, "collector", T, LIT, "collector.state", 1, WRITE);
    bad |= add(&p, "collector", T, LIT, "dlq", 1, WRITE);
    bad |= add(&p, "collector", T, PRE, "quota.", 1, WRITE);
    bad |= add(&p, "collector", G, LIT, collector_group, 0, READ);
    /* The agents and alerts feeds use assign() and never commit, yet
     * librdkafka still looks their group's coordinator up (measured: Group
     * authorization failed without this). */
    bad |= add(&p, "collector", G, PRE, "ispeed-collector-feed.", 0, READ);

    for (size_t i = 0; i < registry_size(reg); i++) {
        const registry_unit *u = registry_unit_at(reg, i);
        char user[64], topic[128];
        if (u->level != REGISTRY_PROVINCE) continue;
        snprintf(user, sizeof user, "province-%s", u->code);
        snprintf(topic, sizeof topic, "quota.%s", u->code);
        bad |= add(&p, user, T, LIT, topic, 1, READ);
        bad |= add(&p, user, T, LIT, "alerts", 1, READ);
        /* ispeedctl names a group "ispeedctl-<pid>" that it never joins;
         * allowed so that a reader that does commit keeps working. */
        bad |= add(&p, user, G, PRE, "ispeedctl-", 0, READ);
    }

    bad |= add(&p, "operator", T, PRE, "", 1, ALL);
    bad |= add(&p, "operator", G, LIT, "*", 0, ALL);
    /* librdkafka 2.0.2 calls Kafka's CLUSTER resource type BROKER. */
    bad |= add(&p, "operator", RD_KAFKA_RESOURCE_BROKER, LIT, "kafka-cluster", 0, ALL);
    if (bad) {
        free(p.r);
        snprintf(err, errsz, "out of memory");
        return -1;
    }
    *out = p.r;
    *n = p.n;
    return 0;
}

static int is_ours(const char *principal) {
    return strcmp(principal, "User:agent") == 0 || strcmp(principal, "User:collector") == 0 ||
           strcmp(principal, "User:operator") == 0 || strncmp(principal, "User:province-", 14) == 0;
}

static int same(const acl_rule *r, const rd_kafka_AclBinding_t *b) {
    return rd_kafka_AclBinding_restype(b) == r->restype && rd_kafka_AclBinding_resource_pattern_type(b) == r->pattern &&
           strcmp(rd_kafka_AclBinding_name(b), r->name) == 0 &&
           strcmp(rd_kafka_AclBinding_principal(b), r->principal) == 0 &&
           strcmp(rd_kafka_AclBinding_host(b), "*") == 0 && rd_kafka_AclBinding_operation(b) == r->op &&
           rd_kafka_AclBinding_permission_type(b) == RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW;
}

static const char *restype_name(rd_kafka_ResourceType_t t) {
    return t == RD_KAFKA_RESOURCE_BROKER ? "cluster" : rd_kafka_ResourceType_name(t);
}

static void describe(char *out, size_t outsz, rd_kafka_ResourceType_t rt, rd_kafka_ResourcePatternType_t pat,
                     const char *name, const char *principal, rd_kafka_AclOperation_t op,
                     rd_kafka_AclPermissionType_t perm, const char *host) {
    snprintf(out, outsz, "%s %s %s %s %s%s%s%s", principal, rd_kafka_AclPermissionType_name(perm),
             rd_kafka_AclOperation_name(op), restype_name(rt), name,
             pat == RD_KAFKA_RESOURCE_PATTERN_PREFIXED ? "*" : "", strcmp(host, "*") ? " host " : "",
             strcmp(host, "*") ? host : "");
}

int acl_main(int argc, char **argv) {
    struct acl_args a = {.units = ACL_DEFAULT_UNITS, .group = ACL_DEFAULT_GROUP};
    cli_common common;
    registry_t *reg = NULL;
    acl_rule *rules = NULL;
    size_t n = 0, nhave = 0, created = 0, deleted = 0, drift = 0;
    rd_kafka_t *rk = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL, *ev2 = NULL;
    rd_kafka_AclBindingFilter_t *all = NULL;
    rd_kafka_AclBinding_t **create = NULL;
    rd_kafka_AclBindingFilter_t **del = NULL;
    size_t ncreate = 0, ndel = 0;
    char err[1024], line[512];
    /* What apply will print, once Kafka has said yes. */
    char **said = NULL;
    size_t nsaid = 0;
    int rc;
    if (argc < 2 || strcmp(argv[1], "apply") != 0) {
        if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
            cli_usage(stdout, &acl_cmd);
            return 0;
        }
        return cli_usage_error(&acl_cmd, "the only acl command is 'apply'");
    }
    rc = cli_parse(argc - 1, argv + 1, &acl_cmd, &common, acl_apply_opt, &a);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 2;
    rc = 1;
    if (!(reg = registry_load(a.units, err, sizeof err))) {
        cli_fail(&acl_cmd, "%s (give the registry with --units FILE)", err);
        goto out;
    }
    if (acl_plan(reg, common.prefix, a.group, &rules, &n, err, sizeof err) < 0 ||
        !(rk = admin_new(common.bootstrap, &common.props, err, sizeof err))) {
        cli_fail(&acl_cmd, "%s", err);
        goto out;
    }
    q = rd_kafka_queue_new(rk);
    all = rd_kafka_AclBindingFilter_new(RD_KAFKA_RESOURCE_ANY, NULL, RD_KAFKA_RESOURCE_PATTERN_ANY, NULL, NULL,
                                        RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY, err, sizeof err);
    if (!all) {
        cli_fail(&acl_cmd, "%s", err);
        goto out;
    }
    rd_kafka_AdminOptions_t *o = admin_options(rk, RD_KAFKA_ADMIN_OP_DESCRIBEACLS);
    rd_kafka_DescribeAcls(rk, all, o, q);
    rd_kafka_AdminOptions_destroy(o);
    if (!(ev = admin_wait(q, "DescribeAcls", err, sizeof err))) {
        cli_fail(&acl_cmd, "%s (is the cluster's authorizer on, and are you a super user?)", err);
        goto out;
    }
    const rd_kafka_AclBinding_t **have = rd_kafka_DescribeAcls_result_acls(rd_kafka_event_DescribeAcls_result(ev), &nhave);
    create = calloc(n, sizeof *create);
    del = calloc(nhave + 1, sizeof *del);
    said = calloc(n + nhave + 1, sizeof *said);
    if (!create || !del || !said) {
        cli_fail(&acl_cmd, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        size_t j;
        for (j = 0; j < nhave && !same(&rules[i], have[j]); j++)
            ;
        if (j < nhave) continue;
        describe(line, sizeof line, rules[i].restype, rules[i].pattern, rules[i].name, rules[i].principal, rules[i].op,
                 RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, "*");
        drift++;
        if (a.check) {
            printf("drift: missing %s\n", line);
            continue;
        }
        if (asprintf(&said[nsaid], "created %s", line) < 0) said[nsaid] = NULL;
        nsaid++;
        if (!(create[ncreate] =
                  rd_kafka_AclBinding_new(rules[i].restype, rules[i].name, rules[i].pattern, rules[i].principal, "*",
                                          rules[i].op, RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, err, sizeof err))) {
            cli_fail(&acl_cmd, "ACL %s: %s", line, err);
            goto out;
        }
        ncreate++;
    }
    /* The collector's TransactionalId rule: Kafka's resource type 5, which
     * librdkafka 2.0.2 reads back as UNKNOWN and cannot create. */
    char txn_prefix[160];
    int have_txn = 0;
    kafka_topic_name(txn_prefix, sizeof txn_prefix, common.prefix, "collector.");
    for (size_t j = 0; j < nhave; j++) {
        rd_kafka_ResourceType_t t = rd_kafka_AclBinding_restype(have[j]);
        if (t != RD_KAFKA_RESOURCE_TOPIC && t != RD_KAFKA_RESOURCE_GROUP && t != RD_KAFKA_RESOURCE_BROKER &&
            !strcmp(rd_kafka_AclBinding_principal(have[j]), "User:collector") &&
            !strcmp(rd_kafka_AclBinding_name(have[j]), txn_prefix) &&
            rd_kafka_AclBinding_resource_pattern_type(have[j]) == RD_KAFKA_RESOURCE_PATTERN_PREFIXED &&
            rd_kafka_AclBinding_operation(have[j]) == RD_KAFKA_ACL_OPERATION_WRITE)
            have_txn = 1;
    }
    if (!have_txn)
        fprintf(stderr,
                "ispeedctl: acl: missing User:collector ALLOW WRITE TRANSACTIONAL_ID %s* (the collector's "
                "transactions); librdkafka 2.0.2 cannot create it, add it with: kafka-acls.sh --bootstrap-server %s "
                "--add --allow-principal User:collector --operation Write --transactional-id %s "
                "--resource-pattern-type prefixed\n",
                txn_prefix, common.bootstrap, txn_prefix);
    for (size_t j = 0; j < nhave; j++) {
        const rd_kafka_AclBinding_t *b = have[j];
        rd_kafka_ResourceType_t t = rd_kafka_AclBinding_restype(b);
        size_t i;
        if (!is_ours(rd_kafka_AclBinding_principal(b))) continue;
        /* A resource type this librdkafka cannot name (transactional ids,
         * delegation tokens) is not ours to delete: it could not be made
         * again. */
        if (t != RD_KAFKA_RESOURCE_TOPIC && t != RD_KAFKA_RESOURCE_GROUP && t != RD_KAFKA_RESOURCE_BROKER) continue;
        for (i = 0; i < n && !same(&rules[i], b); i++)
            ;
        if (i < n) continue;
        describe(line, sizeof line, rd_kafka_AclBinding_restype(b), rd_kafka_AclBinding_resource_pattern_type(b),
                 rd_kafka_AclBinding_name(b), rd_kafka_AclBinding_principal(b), rd_kafka_AclBinding_operation(b),
                 rd_kafka_AclBinding_permission_type(b), rd_kafka_AclBinding_host(b));
        drift++;
        if (a.check) {
            printf("drift: extra %s\n", line);
            continue;
        }
        if (asprintf(&said[nsaid], "deleted %s", line) < 0) said[nsaid] = NULL;
        nsaid++;
        if (!(del[ndel] = rd_kafka_AclBindingFilter_new(
                  rd_kafka_AclBinding_restype(b), rd_kafka_AclBinding_name(b),
                  rd_kafka_AclBinding_resource_pattern_type(b), rd_kafka_AclBinding_principal(b),
                  rd_kafka_AclBinding_host(b), rd_kafka_AclBinding_operation(b),
                  rd_kafka_AclBinding_permission_type(b), err, sizeof err))) {
            cli_fail(&acl_cmd, "ACL %s: %s", line, err);
            goto out;
        }
        ndel++;
    }
    if (ncreate) {
        o = admin_options(rk, RD_KAFKA_ADMIN_OP_CREATEACLS);
        rd_kafka_CreateAcls(rk, create, ncreate, o, q);
        rd_kafka_AdminOptions_destroy(o);
        if (!(ev2 = admin_wait(q, "CreateAcls", err, sizeof err))) {
            cli_fail(&acl_cmd, "%s", err);
            goto out;
        }
        size_t cnt = 0;
        const rd_kafka_acl_result_t **res = rd_kafka_CreateAcls_result_acls(rd_kafka_event_CreateAcls_result(ev2), &cnt);
        for (size_t i = 0; i < cnt; i++) {
            const rd_kafka_error_t *e = rd_kafka_acl_result_error(res[i]);
            if (e) {
                /* The broker's own message quotes its whole request. */
                cli_fail(&acl_cmd, "CreateAcls: %s (run acl apply as a super user, e.g. operator)",
                         rd_kafka_err2str(rd_kafka_error_code(e)));
                goto out;
            }
            created++;
        }
        rd_kafka_event_destroy(ev2);
        ev2 = NULL;
    }
    if (ndel) {
        o = admin_options(rk, RD_KAFKA_ADMIN_OP_DELETEACLS);
        rd_kafka_DeleteAcls(rk, del, ndel, o, q);
        rd_kafka_AdminOptions_destroy(o);
        if (!(ev2 = admin_wait(q, "DeleteAcls", err, sizeof err))) {
            cli_fail(&acl_cmd, "%s", err);
            goto out;
        }
        size_t cnt = 0;
        const rd_kafka_DeleteAcls_result_response_t **res =
            rd_kafka_DeleteAcls_result_responses(rd_kafka_event_DeleteAcls_result(ev2), &cnt);
        for (size_t i = 0; i < cnt; i++) {
            const rd_kafka_error_t *e = rd_kafka_DeleteAcls_result_response_error(res[i]);
            if (e) {
                cli_fail(&acl_cmd, "DeleteAcls: %s (run acl apply as a super user, e.g. operator)",
                         rd_kafka_err2str(rd_kafka_error_code(e)));
                goto out;
            }
            deleted++;
        }
    }
    for (size_t i = 0; i < nsaid; i++)
        if (said[i]) printf("%s\n", said[i]);
    if (a.check) {
        if (!have_txn) drift++;
        printf("%zu ACLs checked: %zu drifted%s\n", n + 1, drift, drift ? "; run 'ispeedctl acl apply' without --check" : "");
        rc = drift ? 1 : 0;
    } else {
        printf("%zu ACLs: %zu created, %zu deleted, %zu unchanged\n", n, created, deleted, n - created);
        rc = 0;
    }
out:
    for (size_t i = 0; i < ncreate; i++) rd_kafka_AclBinding_destroy(create[i]);
    for (size_t i = 0; i < ndel; i++) rd_kafka_AclBinding_destroy(del[i]);
    for (size_t i = 0; i < nsaid; i++) free(said[i]);
    free(said);
    free(create);
    free(del);
    if (all) rd_kafka_AclBinding_destroy(all);
    if (ev) rd_kafka_event_destroy(ev);
    if (ev2) rd_kafka_event_destroy(ev2);
    if (q) rd_kafka_queue_destroy(q);
    if (rk) rd_kafka_destroy(rk);
    free(rules);
    registry_free(reg);
    cli_common_clear(&common);
    return rc;
}
