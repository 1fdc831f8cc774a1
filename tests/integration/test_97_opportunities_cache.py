"""Opportunities on PostgreSQL generations (cachegen, sql/016): a write
whose invalidation cannot reach memcached is never served stale, neither
once memcached answers again nor after a tallyd restart; a write made
straight in PostgreSQL (psql, as tallyctl or a second tallyd would) is seen;
a memcached hiccup during user A's writes leaves user B's entries cached;
the triggers bump the generation once per statement, for every user a
statement touches. (test_95 does the same for metrics and profiles.)"""
import os
import signal
from concurrent.futures import ThreadPoolExecutor

from harness import get, log_since, log_size, new_user, psql, stack, tallyd_pid, wait_for, worker_pids
from test_93_opportunities import API, create, delete, ns_counters, one, patch, wait_scored
from test_95_hardening import restart_tallyd as restart_and_wait_healthy


def restart_tallyd():
    """A new master and new workers, and none of the old processes left to
    answer (an old worker still serving would hide a stale entry: its
    per-host state has the failed invalidation)."""
    old = set(worker_pids()) | {tallyd_pid()}
    restart_and_wait_healthy()
    wait_for(lambda: not any(os.path.exists("/proc/%d/status" % p) and "zombie" not in open(
        "/proc/%d/status" % p).read() for p in old), timeout=20, what="the old tallyd processes gone")


def stats(tok):
    r = get(API + "/stats", token=tok)
    assert r.status == 200, r
    return r.json


def generation(uid):
    rows = psql("SELECT opportunity_generation FROM metric_generations WHERE user_id = %d" % uid)
    return int(rows[0][0]) if rows else 0


def reads_all_hit(tok, oid, n=8):
    """n reads of one opportunity and of the stats, each a hit on both keys
    (token + entry) on whichever worker answers, and no miss or error."""
    before = ns_counters()
    items = [one(tok, oid) for _ in range(n)]
    sts = [stats(tok) for _ in range(n)]
    after = ns_counters()
    ok = (after["hits"] - before["hits"] == 4 * n and after["misses"] == before["misses"]
          and after["errors"] == before["errors"])
    return ok, items, sts


def cached_everywhere(tok, oid):
    return reads_all_hit(tok, oid)[0]


class Stopped:
    """memcached stops answering (SIGSTOP) but keeps its port. Reads first
    make every worker time out twice and back the server off (each logs
    it), so the writes that follow, within that 1 s back-off, really fail
    to reach memcached: a request written to a connection would otherwise
    still run on SIGCONT and repair things by luck. The reads go 8 at a
    time so that every worker serves some (one after the other, an idle
    worker can take them all)."""

    def __init__(self, tok, oid):
        self.tok, self.oid = tok, oid

    def backed_off_everywhere(self, offset):
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: one(self.tok, self.oid), range(16)))
        lines = [l for l in log_since(offset).splitlines() if "skipping it" in l]
        return all(any('"pid":%d,' % p in l for l in lines) for p in worker_pids())

    def __enter__(self):
        self.pid = int(stack("pid", "memcached"))
        offset = log_size()
        os.kill(self.pid, signal.SIGSTOP)
        wait_for(lambda: self.backed_off_everywhere(offset), timeout=20, interval=0,
                 what="every worker backing memcached off")

    def __exit__(self, *exc):
        os.kill(self.pid, signal.SIGCONT)


def scored(tok, bodies):
    made = [create(tok, b) for b in bodies]
    wait_scored(tok, [o["id"] for o in made])
    return made


def test_hung_memcached_writes_then_restart_read_fresh():
    """Patch and delete while memcached hangs; memcached comes back with its
    old entries and tokens; tallyd restarts (its shared memory, and any
    per-host state, is gone): every read is of the new data. (No write that
    queues a scoring job here: the job's own invalidation, after memcached
    is back, would hide a stale entry.)"""
    restart_tallyd()
    uid, tok = new_user("Opp stale after restart")
    _, ptok = new_user("Opp stale probe")
    keep, gone = scored(tok, [{"title": "Keeper", "location": "Lyon"}, {"title": "Goner"}])
    (probe,) = scored(ptok, [{"title": "Probe"}])
    wait_for(lambda: cached_everywhere(tok, keep["id"]), timeout=20, what="entries cached")
    assert one(tok, keep["id"])["location"] == "Lyon" and stats(tok)["total"] == 2
    # the hang is noticed through another user's reads: a read of the writer
    # during the hang could itself end up invalidating (a queued token write)
    with Stopped(ptok, probe["id"]):
        r = patch("%s/%d" % (API, keep["id"]), {"location": "Nantes", "status": "contacted"}, token=tok)
        assert r.status == 200, r
        assert delete("%s/%d" % (API, gone["id"]), token=tok).status == 204
    restart_tallyd()
    for _ in range(8):   # every worker, whichever serves
        assert one(tok, keep["id"])["location"] == "Nantes"
        s = stats(tok)
        assert s["total"] == 1 and s["by_status"]["contacted"] == 1 and s["by_status"]["new"] == 0, s
        assert get("%s/%d" % (API, gone["id"]), token=tok).status == 404
    # once repaired, the cache serves again, and what it serves is fresh
    def hits_only():
        r = reads_all_hit(tok, keep["id"])
        return r if r[0] else None
    _, items, sts = wait_for(hits_only, timeout=20, what="cache used again")
    assert {o["location"] for o in items} == {"Nantes"}
    assert {s["total"] for s in sts} == {1}


def test_write_made_in_postgresql_is_seen():
    """psql updates, inserts and deletes rows behind tallyd's back: the next
    reads (after at most the one-second poll) show them, on every worker."""
    uid, tok = new_user("Opp psql writer")
    (o,) = scored(tok, [{"title": "Behind the back", "location": "Paris"}])
    wait_for(lambda: cached_everywhere(tok, o["id"]), timeout=20, what="entries cached")
    psql("UPDATE opportunities SET location = 'Brest' WHERE id = %d" % o["id"])
    wait_for(lambda: one(tok, o["id"])["location"] == "Brest", timeout=5, what="psql update seen")
    for _ in range(8):
        assert one(tok, o["id"])["location"] == "Brest"
    before = stats(tok)["total"]
    psql("INSERT INTO opportunities (user_id, title, status) VALUES (%d, 'From psql', 'offer'), "
         "(%d, 'From psql too', 'offer')" % (uid, uid))
    wait_for(lambda: stats(tok)["total"] == before + 2, timeout=5, what="psql insert seen")
    for _ in range(8):
        s = stats(tok)
        assert s["total"] == before + 2 and s["by_status"]["offer"] == 2, s
    psql("DELETE FROM opportunities WHERE user_id = %d AND title LIKE 'From psql%%'" % uid)
    wait_for(lambda: stats(tok)["by_status"]["offer"] == 0, timeout=5, what="psql delete seen")
    for _ in range(8):
        assert stats(tok)["total"] == before
    # and the cache is used again with the fresh values
    wait_for(lambda: cached_everywhere(tok, o["id"]), timeout=20, what="cache used again")
    assert one(tok, o["id"])["location"] == "Brest"


def test_triggers_bump_once_per_statement_for_every_user_touched():
    """Counted on metric_generations itself: +1 per statement that touches a
    user's rows, +0 for a statement that touches none, both users of a row
    moved from one to the other."""
    a, atok = new_user("Opp gen A")
    b, btok = new_user("Opp gen B")
    x, y = scored(atok, [{"title": "X"}, {"title": "Y"}])
    ga, gb = generation(a), generation(b)
    psql("UPDATE opportunities SET tags = '[\"t\"]' WHERE id IN (%d, %d)" % (x["id"], y["id"]))
    assert (generation(a), generation(b)) == (ga + 1, gb)
    psql("UPDATE opportunities SET status = status WHERE id = -1")        # no row: no bump
    assert (generation(a), generation(b)) == (ga + 1, gb)
    # a row moved to another user by hand: both users' copies change
    psql("UPDATE opportunities SET user_id = %d WHERE id = %d" % (b, y["id"]))
    assert (generation(a), generation(b)) == (ga + 2, gb + 1)
    # a write outside tallyd is seen within one poll of the unsynced users (1 s)
    wait_for(lambda: get("%s/%d" % (API, y["id"]), token=atok).status == 404 and stats(atok)["total"] == 1,
             timeout=5, what="the moved row gone from A's copies")
    for _ in range(8):
        assert get("%s/%d" % (API, y["id"]), token=atok).status == 404
        assert one(btok, y["id"])["user_id"] == b
        assert stats(atok)["total"] == 1 and stats(btok)["total"] == 1
    psql("DELETE FROM opportunities WHERE id = %d" % y["id"])
    assert (generation(a), generation(b)) == (ga + 2, gb + 2)
    # deleting the user cascades to its rows without recreating its generation row
    c, ctok = new_user("Opp gen C")
    create(ctok, {"title": "Cascade"})
    psql("DELETE FROM users WHERE id = %d" % c)
    assert psql("SELECT count(*) FROM metric_generations WHERE user_id = %d" % c) == [["0"]]


def test_a_hiccup_during_a_writes_leaves_b_cached():
    """While memcached hangs, user A writes (its tokens cannot be raised);
    user B's opportunity and stats stay in the cache afterwards: a hiccup
    costs the writing user's entries, not the namespace."""
    a, atok = new_user("Opp stall writer")
    b, btok = new_user("Opp stall bystander")
    d, dtok = new_user("Opp stall probe")
    (ao,) = scored(atok, [{"title": "A's"}])
    (bo,) = scored(btok, [{"title": "B's", "location": "Lille"}])
    (do,) = scored(dtok, [{"title": "D's"}])
    wait_for(lambda: cached_everywhere(btok, bo["id"]), timeout=20, what="B cached")
    b_stats = stats(btok)
    with Stopped(dtok, do["id"]):
        for i in range(5):
            assert patch("%s/%d" % (API, ao["id"]), {"location": "Stall %d" % i}, token=atok).status == 200
    # every worker reaches memcached again (D's entries are written after the stall)
    wait_for(lambda: cached_everywhere(dtok, do["id"]), timeout=20, what="memcached usable by every worker")
    ok, items, sts = reads_all_hit(btok, bo["id"])
    assert ok, "B's entries were lost to A's hiccup"
    assert {o["location"] for o in items} == {"Lille"} and all(s == b_stats for s in sts)
    for _ in range(8):
        assert one(atok, ao["id"])["location"] == "Stall 4"
