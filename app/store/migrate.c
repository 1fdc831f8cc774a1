/* migrate: see migrate.h. Migration files are trusted static SQL from the
 * repository; the version numbers and names that go into
 * schema_migrations are passed as parameters. */
#define _GNU_SOURCE
#include "migrate.h"
#include "../core/clock.h"
#include "db.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MIGRATE_MAX 512
#define MIGRATE_LOCK_KEY "7423001"
#define MIGRATE_FILE_MAX_BYTES (4 * 1024 * 1024)

struct migration {
    int version;
    char name[128];
    bool has_up, has_down;
    bool applied;
};

struct migration_set {
    struct migration items[MIGRATE_MAX];
    int count;
};

static struct migration *migrate_find(struct migration_set *set, int version)
{
    for (int i = 0; i < set->count; i++)
        if (set->items[i].version == version)
            return &set->items[i];
    return NULL;
}

static int migrate_cmp(const void *a, const void *b)
{
    return ((const struct migration *)a)->version - ((const struct migration *)b)->version;
}

/* "NNN_name.up.sql" -> version, name, direction. */
static bool migrate_parse_name(const char *file, int *version, char *name, size_t name_cap, bool *up)
{
    size_t n = strlen(file);
    const char *suffix;
    if (n > 7 && strcmp(file + n - 7, ".up.sql") == 0) {
        suffix = file + n - 7;
        *up = true;
    } else if (n > 9 && strcmp(file + n - 9, ".down.sql") == 0) {
        suffix = file + n - 9;
        *up = false;
    } else {
        return false;
    }
    char *end;
    long v = strtol(file, &end, 10);
    if (end == file || *end != '_' || v <= 0 || v > 99999)
        return false;
    size_t name_len = (size_t)(suffix - end - 1);
    if (name_len == 0 || name_len >= name_cap)
        return false;
    memcpy(name, end + 1, name_len);
    name[name_len] = '\0';
    *version = (int)v;
    return true;
}

static int migrate_scan(const char *dir, struct migration_set *set, FILE *out)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        fprintf(out, "migrate: cannot open %s: %s\n", dir, strerror(errno));
        return -1;
    }
    set->count = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        int version;
        char name[128];
        bool up;
        if (!migrate_parse_name(de->d_name, &version, name, sizeof(name), &up))
            continue;
        struct migration *m = migrate_find(set, version);
        if (m == NULL) {
            if (set->count >= MIGRATE_MAX)
                break;
            m = &set->items[set->count++];
            memset(m, 0, sizeof(*m));
            m->version = version;
            snprintf(m->name, sizeof(m->name), "%s", name);
        }
        if (up)
            m->has_up = true;
        else
            m->has_down = true;
    }
    closedir(d);
    qsort(set->items, (size_t)set->count, sizeof(set->items[0]), migrate_cmp);
    for (int i = 0; i < set->count; i++) {
        if (!set->items[i].has_up || !set->items[i].has_down) {
            fprintf(out, "migrate: %03d_%s lacks its %s file\n", set->items[i].version,
                    set->items[i].name, set->items[i].has_up ? ".down.sql" : ".up.sql");
            return -1;
        }
    }
    return 0;
}

static int migrate_load_applied(struct db *db, struct migration_set *set, FILE *out)
{
    /* Two runners creating the table at once would collide: one at a time
     * (a transaction's lock, as in migrate_apply). */
    if (db_exec(db, 0, "BEGIN", 0, NULL) != ERR_NONE) {
        fprintf(out, "migrate: cannot reach PostgreSQL: %s\n", db_last_error(db));
        return -1;
    }
    enum err e = db_exec(db, 0, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", 0, NULL);
    if (e == ERR_NONE)
        e = db_exec(db, 0,
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version integer PRIMARY KEY, name text NOT NULL,"
                    " applied_at timestamptz NOT NULL DEFAULT now())",
                    0, NULL);
    if (e == ERR_NONE)
        e = db_exec(db, 0, "COMMIT", 0, NULL);
    if (e != ERR_NONE) {
        db_exec(db, 0, "ROLLBACK", 0, NULL);
        fprintf(out, "migrate: cannot create schema_migrations: %s\n", db_last_error(db));
        return -1;
    }
    db_result *r = db_query(db, &e, 0, "SELECT version FROM schema_migrations ORDER BY version", 0, NULL);
    if (r == NULL) {
        fprintf(out, "migrate: %s\n", db_last_error(db));
        return -1;
    }
    for (int i = 0; i < db_rows(r); i++) {
        int v = (int)db_int64(r, i, 0);
        struct migration *m = migrate_find(set, v);
        if (m == NULL) {
            fprintf(out, "migrate: warning: version %d is applied but has no files here\n", v);
            continue;
        }
        m->applied = true;
    }
    db_clear(r);
    return 0;
}

static char *migrate_read_file(const char *dir, const struct migration *m, const char *dirn)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%03d_%s.%s.sql", dir, m->version, m->name, dirn);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    char *buf = malloc(MIGRATE_FILE_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MIGRATE_FILE_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (buf == NULL || n > MIGRATE_FILE_MAX_BYTES) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    return buf;
}

/* Runs one migration file and its bookkeeping in one transaction. */
static int migrate_apply(struct db *db, const char *dir, const struct migration *m, bool up, FILE *out)
{
    double started = clock_ms();
    fprintf(out, "%s %03d_%s ... ", up ? "applying" : "reverting", m->version, m->name);
    fflush(out);
    char *sql = migrate_read_file(dir, m, up ? "up" : "down");
    if (sql == NULL) {
        fprintf(out, "FAILED: cannot read the file\n");
        return -1;
    }
    char version[16];
    snprintf(version, sizeof(version), "%d", m->version);
    const char *params[2] = {version, m->name};
    char errbuf[1024] = "";
    int rc = -1;
    if (db_exec(db, 0, "BEGIN", 0, NULL) != ERR_NONE)
        goto out;
    /* The lock is the transaction's, so it holds through PgBouncer in
     * transaction mode too; under it, a runner that waited for another
     * sees what that one did and skips the migration. */
    enum err e = db_exec(db, 0, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", 0, NULL);
    /* A statement of its own: its snapshot, taken after the lock, sees the other runner's commit. */
    db_result *r = e != ERR_NONE ? NULL
                                 : db_query(db, &e, 0, "SELECT 1 FROM schema_migrations WHERE version = $1::int",
                                            1, params);
    if (r == NULL)
        goto rollback;
    bool applied = db_rows(r) > 0;
    db_clear(r);
    bool done = up ? applied : !applied;
    if (done) {
        db_exec(db, 0, "ROLLBACK", 0, NULL);
        fprintf(out, "skipped (done meanwhile by another runner)\n");
        rc = 0;
        goto out;
    }
    if (db_script(db, sql, errbuf, sizeof(errbuf)) != ERR_NONE)
        goto rollback;
    e = up ? db_exec(db, 0, "INSERT INTO schema_migrations (version, name) VALUES ($1::int, $2)", 2, params)
           : db_exec(db, 0, "DELETE FROM schema_migrations WHERE version = $1::int", 1, params);
    if (e != ERR_NONE || db_exec(db, 0, "COMMIT", 0, NULL) != ERR_NONE) {
        snprintf(errbuf, sizeof(errbuf), "%s", db_last_error(db));
        goto rollback;
    }
    fprintf(out, "ok (%.1f ms)\n", clock_ms() - started);
    rc = 0;
    goto out;
rollback:
    db_exec(db, 0, "ROLLBACK", 0, NULL);
out:
    if (rc != 0)
        fprintf(out, "FAILED\n%s\n", errbuf[0] ? errbuf : db_last_error(db));
    free(sql);
    return rc;
}

static int migrate_prepare(struct db *db, const char *dir, struct migration_set *set, FILE *out)
{
    if (migrate_scan(dir, set, out) != 0)
        return -1;
    return migrate_load_applied(db, set, out);
}

int migrate_up(struct db *db, const char *sql_dir, FILE *out)
{
    static struct migration_set set;
    if (migrate_prepare(db, sql_dir, &set, out) != 0)
        return -1;
    int applied = 0, rc = 0;
    for (int i = 0; i < set.count && rc == 0; i++) {
        if (set.items[i].applied)
            continue;
        rc = migrate_apply(db, sql_dir, &set.items[i], true, out);
        applied += rc == 0;
    }
    fprintf(out, "%d migration(s) applied%s\n", applied, rc == 0 ? ", schema up to date" : ", stopped on error");
    return rc;
}

int migrate_down(struct db *db, const char *sql_dir, int steps, FILE *out)
{
    static struct migration_set set;
    if (migrate_prepare(db, sql_dir, &set, out) != 0)
        return -1;
    int reverted = 0, rc = 0;
    for (int i = set.count - 1; i >= 0 && rc == 0 && (steps < 0 || reverted < steps); i--) {
        if (!set.items[i].applied)
            continue;
        rc = migrate_apply(db, sql_dir, &set.items[i], false, out);
        reverted += rc == 0;
    }
    fprintf(out, "%d migration(s) reverted\n", reverted);
    return rc;
}

int migrate_status(struct db *db, const char *sql_dir, FILE *out)
{
    static struct migration_set set;
    if (migrate_prepare(db, sql_dir, &set, out) != 0)
        return -1;
    int pending = 0;
    for (int i = 0; i < set.count; i++) {
        fprintf(out, "%03d_%-40s %s\n", set.items[i].version, set.items[i].name,
                set.items[i].applied ? "applied" : "pending");
        pending += !set.items[i].applied;
    }
    fprintf(out, "%d migration(s), %d pending\n", set.count, pending);
    return 0;
}
