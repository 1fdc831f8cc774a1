"""Learning (autofill): the sync endpoint (partial rejects, duplicates also
from 8 concurrent connections, 403, 1001 events refused, unknown fields
ignored), the aggregation (form 4 vs 5, segment 4 vs 5, family 9 vs 10,
every tie rule, the window's edges, the profile's segment by majority with
its tie rule, explanations), incremental runs (exactly the changed profiles,
the same hints as a full run, a window that loses events, two runs at
once), the cached profile read, stats, /metrics, the job kind and tallyctl.

Expected hints are computed here by a small reference model of API.md's
rules (Fractions, no rounding until the end), never copied from the server.
Each test works in families and hosts of its own (a random suffix), and
the hourly schedule is disabled while the file runs so that no scheduled
aggregation interleaves."""
import calendar
import html
import json
import os
import random
import re
import subprocess
import threading
import time
import urllib.parse
from decimal import Decimal, ROUND_HALF_UP
from fractions import Fraction

from harness import PG, ROOT, admin_token, assert_error, ctl, get, new_user, post, psql, wait_for

RUN = "%x" % random.getrandbits(40)
THRESHOLD = {"form": 5, "segment": 5, "family": 10}
DAY = 86400
# Hand-derived segments of the titles the tests send (docs/learning.md rules).
TITLE_SEGMENT = {"Senior Data Engineer": "senior", "Sr. Backend Engineer": "senior",
                 "Junior Developer": "junior", "Stagiaire Marketing": "intern", "Data Analyst": "default",
                 "Alternance - Chef de projet": "intern", "Head of Data": "senior"}


def iso(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def fam(name):
    return "%s-%s" % (name, RUN)


def host(name):
    return "%s-%s.jobs.example" % (name, RUN)


class Model:
    """The events a test sent, and API.md's aggregation over them."""

    def __init__(self):
        self.events = []

    def add(self, e, ts):
        self.events.append(dict(e, _ts=ts, _seq=len(self.events)))

    @staticmethod
    def stats(evs):
        st = {}
        for e in evs:
            s = e.get("gen_style_id")
            if s is None:
                continue
            d = st.setdefault(s, [0, 0, 0, 0])   # runs, helpful, rated, edit sum
            d[0] += 1
            d[3] += e["edit_chars"]
            if e.get("helpful") is not None:
                d[2] += 1
                d[1] += 1 if e["helpful"] else 0
        return st

    @staticmethod
    def best(st, threshold):
        cands = [(s, d) for s, d in st.items() if d[0] >= threshold]
        if not cands:
            return None

        def key(item):
            s, d = item
            ratio = Fraction(d[1], d[2]) if d[2] else None
            return (ratio is None, -(ratio or 0), Fraction(d[3], d[0]), -d[0], s.encode())
        return min(cands, key=key)

    @staticmethod
    def segment_of(e):
        job = e.get("job")
        if not job:
            return None
        title = job.get("normalized_title") or job.get("title")
        return TITLE_SEGMENT[title] if title is not None else None

    def expect(self, h, schema, now, days=30):
        window = [e for e in self.events if e["_ts"] >= now - days * DAY]
        own = [e for e in window if (e["host"], e["schema_hash"]) == (h, schema)]
        family = [e for e in self.events if (e["host"], e["schema_hash"]) == (h, schema)][-1]["family"]
        segs = {}
        for e in own:
            s = self.segment_of(e)
            if s is not None:
                n, latest = segs.get(s, (0, (0, 0)))
                segs[s] = (n + 1, max(latest, (e["_ts"], e["_seq"])))
        segment = max(segs, key=lambda s: segs[s]) if segs else None
        fam_events = [e for e in window if e["family"] == family]
        levels = [("form", own)]
        if segment is not None:
            levels.append(("segment", [e for e in fam_events if self.segment_of(e) == segment]))
        levels.append(("family", fam_events))
        parts, chosen = [], None
        for name, evs in levels:
            st = self.stats(evs)
            m = max((d[0] for d in st.values()), default=0)
            b = self.best(st, THRESHOLD[name])
            sign = "\u2265" if m >= THRESHOLD[name] else "<"
            label = {"form": "form", "segment": "segment %s/%s" % (segment, family),
                     "family": "family %s" % family}[name]
            parts.append("%s: %d runs %s %d" % (label, m, sign, THRESHOLD[name]))
            if name == "form" and segment is None and b is None:
                parts.append("segment: no segment")
            if b is not None:
                chosen = (name, b)
                break
        explanation = "; ".join(parts) + " \u2192 " + (chosen[0] if chosen else "none")
        hint = {"preferred_style_id": None, "source": None, "segment_key": segment, "runs": None,
                "helpful_ratio": None, "avg_edit_chars": None}
        if chosen:
            s, d = chosen[1]
            hint.update(preferred_style_id=s, source=chosen[0], runs=d[0],
                        helpful_ratio=(Decimal(d[1]) / Decimal(d[2])).quantize(Decimal("0.01"), ROUND_HALF_UP)
                        if d[2] else None,
                        avg_edit_chars=(Decimal(d[3]) / Decimal(d[0])).quantize(Decimal("0.01"), ROUND_HALF_UP))
        return {"family": family, "runs": len(own), "style_hint": hint, "explanation": explanation}


def event(h, schema, family, style, helpful=True, edit=10, title=None, created=None, event_id=None, **extra):
    e = {"host": h, "schema_hash": schema, "family": family, "gen_style_id": style, "applied": True,
         "edit_chars": edit, "helpful": helpful}
    if title is not None:
        e["job"] = {"title": title, "normalized_title": None}
    if created is not None:
        e["created_at"] = iso(created)
    if event_id is not None:
        e["event_id"] = event_id
    e.update(extra)
    return e


def sync(tok, events, user_id=None):
    body = {"events": events}
    if user_id is not None:
        body["user_id"] = user_id
    return post("/api/extension/learning/sync", body, token=tok)


def send(model, tok, events, now=None):
    now = now or time.time()
    for e in events:
        r = sync(tok, [e])
        assert r.status == 200 and r.json["accepted"] == 1, r
        model.add(e, calendar.timegm(time.strptime(e["created_at"], "%Y-%m-%dT%H:%M:%SZ"))
                  if "created_at" in e else now)


def aggregate(**params):
    q = "&".join("%s=%s" % kv for kv in params.items())
    r = post("/api/v1/admin/learning/aggregate" + ("?" + q if q else ""), token=admin_token())
    assert r.status == 200, r
    return r.json


def profile(tok, h, schema):
    r = get("/api/extension/learning/profile?host=%s&schema_hash=%s" % (h, schema), token=tok)
    assert r.status == 200, r
    return r.json


def check_hint(got, want):
    assert got["family"] == want["family"], (got, want)
    assert got["runs"] == want["runs"], (got, want)
    assert got["explanation"] == want["explanation"], (got["explanation"], want["explanation"])
    g, w = got["style_hint"], want["style_hint"]
    for k in ("preferred_style_id", "source", "segment_key", "runs"):
        assert g[k] == w[k], (k, got, want)
    for k in ("helpful_ratio", "avg_edit_chars"):
        assert (g[k] is None) == (w[k] is None), (k, got, want)
        if w[k] is not None:
            assert Decimal(str(g[k])) == w[k], (k, g[k], w[k])


# The hourly schedule, if present (test_60 deletes every schedule), is off
# while this file runs and restored by the last test.
SCHEDULE_AT_START = psql("SELECT enabled FROM job_schedules WHERE name = 'hourly_learning_aggregate'")
psql("UPDATE job_schedules SET enabled = false WHERE name = 'hourly_learning_aggregate'")


# ---- sync ------------------------------------------------------------------

def test_sync_partial_rejects_and_normalisation():
    uid, tok = new_user("Learner")
    h = host("Partial")
    good = event(h.upper(), "s1", "  WorkDay ", "concise_v1", title="Sénior Data Engineer", event_id="p-1")
    batch = [
        good,                                                                    # 0 ok
        {"schema_hash": "s1", "family": "w", "applied": True, "edit_chars": 1},  # 1 host missing
        event(h, "s1", "w", "x", edit=-1),                                       # 2 edit_chars < 0
        event(h, "s1", "w", "x", edit="12"),                                     # 3 edit_chars a string
        event(h, "s1", "w", "x", helpful="yes"),                                 # 4 helpful
        event(h, "s1", "w", "x", created_at="2026-13-01T00:00:00Z"),             # 5 bad month
        event(h, "s1", "w", "x", job="Senior"),                                  # 6 job not an object
        event(h, "s1", "w", "s" * 65),                                           # 7 style too long
        "not an event",                                                          # 8
        {"host": h, "schema_hash": "s1", "family": "w", "edit_chars": 3},        # 9 applied missing
        event(h, "s1", "w", None, helpful=None, unknown_field={"x": 1}, event_id="p-2"),  # 10 ok, unknown ignored
        event(h, "s1", "w", "x", created_at="2026-11-14T09:12:00+02:00", event_id="p-3"),  # 11 ok, offset
        event(h, "s1", "w", "x", created_at=iso(time.time() + 3 * DAY)),         # 12 too far ahead
        event(h, "", "w", "x"),                                                  # 13 empty schema_hash
        event(h, "s1", "w", "x", event_id=""),                                   # 14 empty event_id
        event(h, "s1", "w", "x", job={"title": 5}),                              # 15 job.title
        event("bad host/x", "s1", "w", "x"),                                     # 16 host with a slash
    ]
    r = sync(tok, batch)
    assert r.status == 200, r
    want = {1: "host", 2: "edit_chars", 3: "edit_chars", 4: "helpful", 5: "created_at", 6: "job",
            7: "gen_style_id", 8: "event", 9: "applied", 12: "created_at", 13: "schema_hash", 14: "event_id",
            15: "job.title", 16: "host"}
    got = {x["index"]: x["field"] for x in r.json["rejected"]}
    assert got == want, got
    assert all(x["message"] for x in r.json["rejected"])
    assert (r.json["accepted"], r.json["duplicates"]) == (3, 0), r
    rows = psql("SELECT e.event_id, p.host, e.family, e.segment_key, e.gen_style_id, e.helpful,"
                " to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
                " FROM learning_events e JOIN learning_form_profiles p ON p.id = e.profile_id"
                " WHERE e.user_id = %d ORDER BY e.event_id" % uid)
    assert [r[:6] for r in rows] == [["p-1", h.lower(), "workday", "senior", "concise_v1", "t"],
                                     ["p-2", h.lower(), "w", "", "", ""],
                                     ["p-3", h.lower(), "w", "", "x", "t"]], rows
    assert rows[2][6] == "2026-11-14 07:12", rows      # +02:00 stored as UTC
    # a rejected-only call stores nothing; the whole call fails on a non-array
    r = sync(tok, [event(h, "s1", "w", "x", edit=None)])
    assert r.status == 200 and r.json["accepted"] == 0 and r.json["rejected"][0]["field"] == "edit_chars", r
    assert psql("SELECT count(*) FROM learning_events WHERE user_id = %d" % uid) == [["3"]]
    assert_error(post("/api/extension/learning/sync", {"events": {"a": 1}}, token=tok), 422, "invalid_argument",
                 "events")
    assert_error(post("/api/extension/learning/sync", {}, token=tok), 422, "invalid_argument", "events")
    assert_error(post("/api/extension/learning/sync", "{", token=tok, content_type="application/json"), 400,
                 "invalid_argument")
    assert_error(post("/api/extension/learning/sync", "x", token=tok, content_type="text/plain"), 415,
                 "unsupported_media_type")


def test_sync_duplicates_and_events_without_id():
    uid, tok = new_user("Dups")
    h = host("Dups")
    batch = [event(h, "d", "f", "a", event_id="e-%d" % i) for i in range(5)]
    r = sync(tok, batch)
    assert (r.json["accepted"], r.json["duplicates"]) == (5, 0), r
    r = sync(tok, batch + [event(h, "d", "f", "a", event_id="e-new")])
    assert (r.json["accepted"], r.json["duplicates"], r.json["rejected"]) == (1, 5, []), r
    # the same id twice in one call: one stored, one duplicate
    r = sync(tok, [event(h, "d", "f", "a", event_id="twice"), event(h, "d", "f", "b", event_id="twice")])
    assert (r.json["accepted"], r.json["duplicates"]) == (1, 1), r
    # events without an id are always stored
    r = sync(tok, [event(h, "d", "f", "a"), event(h, "d", "f", "a")])
    assert (r.json["accepted"], r.json["duplicates"]) == (2, 0), r
    # ids are per user: another user may reuse them
    uid2, tok2 = new_user("Dups2")
    r = sync(tok2, batch[:2])
    assert (r.json["accepted"], r.json["duplicates"]) == (2, 0), r
    assert psql("SELECT count(*) FROM learning_events WHERE user_id = %d" % uid) == [["9"]]
    assert psql("SELECT count(DISTINCT event_id), count(event_id) FROM learning_events WHERE user_id = %d"
                % uid) == [["7", "7"]]


def test_sync_concurrent_duplicates_from_8_connections():
    uid, tok = new_user("Concurrent")
    # 3 forms, 60 events; every connection sends all of them in its own order
    batch = [event(host("Conc%d" % (i % 3)), "c", fam("conc"), "s%d" % (i % 4), event_id="c-%03d" % i)
             for i in range(60)]
    results, errors = [], []

    def one(seed):
        evs = list(batch)
        random.Random(seed).shuffle(evs)
        try:
            r = sync(tok, evs)
            results.append(r)
        except Exception as exc:      # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert all(r.status == 200 for r in results), results
    assert sum(r.json["accepted"] for r in results) == 60, results
    assert sum(r.json["duplicates"] for r in results) == 7 * 60, results
    assert psql("SELECT count(*), count(DISTINCT event_id) FROM learning_events WHERE user_id = %d" % uid) == \
        [["60", "60"]]
    assert psql("SELECT count(*) FROM learning_form_profiles WHERE family = '%s'" % fam("conc")) == [["3"]]


def test_sync_auth_and_limits():
    uid, tok = new_user("Auth")
    uid2, tok2 = new_user("Other")
    h = host("Auth")
    assert_error(sync(tok, [event(h, "a", "f", "x")], user_id=uid2), 403, "forbidden")
    assert_error(sync(None, [event(h, "a", "f", "x")]), 401, "unauthenticated")
    r = sync(tok, [event(h, "a", "f", "x")], user_id=uid)
    assert r.status == 200 and r.json["accepted"] == 1, r
    # admin tokens sync for any user, and must say which
    assert_error(sync(admin_token(), [event(h, "a", "f", "x")]), 422, "invalid_argument", "user_id")
    r = sync(admin_token(), [event(h, "a", "f", "x")], user_id=uid2)
    assert r.status == 200 and r.json["accepted"] == 1, r
    assert_error(sync(admin_token(), [event(h, "a", "f", "x")], user_id=999999999), 404, "not_found", "user_id")
    assert_error(sync(tok, [event(h, "a", "f", "x")], user_id="1"), 422, "invalid_argument", "user_id")
    # 1001 events: refused whole, nothing stored; 1000 pass
    many = [event(h, "lim", "f", "x", event_id="l-%d" % i) for i in range(1001)]
    r = sync(tok, many)
    assert_error(r, 422, "invalid_argument", "events")
    assert "1000" in r.json["error"]["message"], r
    assert psql("SELECT count(*) FROM learning_events WHERE user_id = %d AND event_id LIKE 'l-%%'" % uid) == [["0"]]
    r = sync(tok, many[:1000])
    assert r.status == 200 and r.json["accepted"] == 1000, r
    assert psql("SELECT count(*) FROM learning_events WHERE user_id = %d AND event_id LIKE 'l-%%'" % uid) == \
        [["1000"]]


# ---- aggregation -------------------------------------------------------------

def test_form_threshold_4_vs_5():
    uid, tok = new_user("FormEdge")
    m, h, f = Model(), host("FormEdge"), fam("formedge")
    send(m, tok, [event(h, "f", f, "a", helpful=(i % 2 == 0), edit=i) for i in range(4)])
    aggregate(full=1)
    p = profile(tok, h, "f")
    check_hint(p, m.expect(h, "f", time.time()))
    assert p["style_hint"]["source"] is None
    assert p["explanation"] == "form: 4 runs < 5; segment: no segment; family %s: 4 runs < 10 \u2192 none" % f
    send(m, tok, [event(h, "f", f, "a", helpful=True, edit=7)])
    aggregate()
    p = profile(tok, h, "f")
    check_hint(p, m.expect(h, "f", time.time()))
    assert (p["style_hint"]["source"], p["style_hint"]["preferred_style_id"], p["style_hint"]["runs"]) == \
        ("form", "a", 5)
    assert p["explanation"] == "form: 5 runs \u2265 5 \u2192 form"
    assert p["runs"] == 5


def test_segment_threshold_4_vs_5_and_family_9_vs_10():
    uid, tok = new_user("SegEdge")
    m, f = Model(), fam("segedge")
    target, other = host("SegTarget"), host("SegOther")
    # the target: 1 senior event; others of the family: 3 senior + 5 junior, all style b
    send(m, tok, [event(target, "t", f, "b", title="Senior Data Engineer")])
    send(m, tok, [event(other, "o%d" % i, f, "b", title="Sr. Backend Engineer") for i in range(3)])
    send(m, tok, [event(other, "j%d" % i, f, "b", title="Junior Developer") for i in range(5)])
    aggregate(full=1)
    p = profile(tok, target, "t")
    want = m.expect(target, "t", time.time())
    check_hint(p, want)
    # segment pool 4 < 5, family pool 9 < 10
    assert p["explanation"] == ("form: 1 runs < 5; segment senior/%s: 4 runs < 5; family %s: 9 runs < 10 \u2192 none"
                                % (f, f)), p
    # the 10th event of the family is junior: the family qualifies, the segment still does not
    send(m, tok, [event(other, "j9", f, "b", helpful=False, title="Junior Developer")])
    aggregate()
    p = profile(tok, target, "t")
    check_hint(p, m.expect(target, "t", time.time()))
    assert p["style_hint"]["source"] == "family" and p["style_hint"]["runs"] == 10, p
    assert p["style_hint"]["segment_key"] == "senior"
    # a 5th senior event: the segment qualifies and comes before the family
    send(m, tok, [event(other, "o9", f, "b", title="Head of Data")])
    aggregate()
    p = profile(tok, target, "t")
    check_hint(p, m.expect(target, "t", time.time()))
    assert p["style_hint"]["source"] == "segment" and p["style_hint"]["runs"] == 5, p
    assert p["explanation"] == "form: 1 runs < 5; segment senior/%s: 5 runs \u2265 5 \u2192 segment" % f


def test_tie_rules():
    uid, tok = new_user("Ties")
    m, f = Model(), fam("ties")
    h = host("Ties")

    def styled(schema, style, helpfuls, edits):
        return [event(h, schema, f, style, helpful=hv, edit=ev) for hv, ev in zip(helpfuls, edits)]
    cases = {
        # higher helpful ratio wins (4/5 over 3/5) despite more edits
        "ratio": (styled("ratio", "x", [True] * 4 + [False], [50] * 5) +
                  styled("ratio", "y", [True] * 3 + [False] * 2, [1] * 5), "x"),
        # same ratio: fewer edits wins
        "edits": (styled("edits", "x", [True] * 3 + [False] * 2, [10] * 5) +
                  styled("edits", "y", [True] * 3 + [False] * 2, [8] * 5), "y"),
        # same ratio (3/6 = 5/10) and edits: more runs wins
        "runs": (styled("runs", "x", [True] * 3 + [False] * 3, [10] * 6) +
                 styled("runs", "y", [True] * 5 + [False] * 5, [10] * 10), "y"),
        # everything equal: the smaller style id (bytewise: "Beta" < "alpha")
        "id": (styled("id", "alpha", [True, False] * 3, [4] * 6) +
               styled("id", "Beta", [True, False] * 3, [4] * 6), "Beta"),
        # ratio over rated events only: 4 of 6 rated (7 runs) equals 2 of 3 rated (6 runs); more runs wins
        "rated": (styled("rated", "x", [True] * 4 + [False] * 2 + [None], [3] * 7) +
                  styled("rated", "y", [True] * 2 + [False] + [None] * 3, [3] * 6), "x"),
        # a style with no rated event ranks after a rated one, even at ratio 0
        "unrated": (styled("unrated", "x", [None] * 8, [0] * 8) +
                    styled("unrated", "y", [False] * 5, [30] * 5), "y"),
        # a style under the threshold never wins, whatever its ratio
        "under": (styled("under", "x", [True] * 4, [0] * 4) +
                  styled("under", "y", [False] * 5, [30] * 5), "y"),
    }
    for schema, (evs, winner) in cases.items():
        r = sync(tok, evs)
        assert r.status == 200 and r.json["accepted"] == len(evs), r
        for e in evs:
            m.add(e, time.time())
    aggregate(full=1)
    for schema, (evs, winner) in cases.items():
        p = profile(tok, h, schema)
        check_hint(p, m.expect(h, schema, time.time()))
        assert p["style_hint"]["preferred_style_id"] == winner, (schema, p)
        assert p["style_hint"]["source"] == "form", (schema, p)


def test_profile_segment_majority_and_tie():
    uid, tok = new_user("Majority")
    m, f, h = Model(), fam("majority"), host("Majority")
    now = int(time.time())
    # tie 2 senior (older) vs 2 junior (newer): the most recent wins
    send(m, tok, [event(h, "tie", f, "a", title="Senior Data Engineer", created=now - 3000),
                  event(h, "tie", f, "a", title="Sr. Backend Engineer", created=now - 2900),
                  event(h, "tie", f, "a", title="Junior Developer", created=now - 2000),
                  event(h, "tie", f, "a", title="Junior Developer", created=now - 1000),
                  event(h, "tie", f, "a", created=now - 500)])               # no job: not counted
    # 3 intern vs 2 default (newer): the majority wins; normalized_title over title
    evs = [event(h, "maj", f, "a", title="Stagiaire Marketing", created=now - 3000 + i) for i in range(2)]
    evs.append(dict(event(h, "maj", f, "a", created=now - 2500),
                    job={"title": "Senior Data Engineer", "normalized_title": "Alternance - Chef de projet"}))
    evs += [event(h, "maj", f, "a", title="Data Analyst", created=now - 100 + i) for i in range(2)]
    send(m, tok, evs)
    aggregate(full=1)
    p = profile(tok, h, "tie")
    check_hint(p, m.expect(h, "tie", time.time()))
    assert p["segment_key"] == "junior" and p["style_hint"]["segment_key"] == "junior", p
    p = profile(tok, h, "maj")
    check_hint(p, m.expect(h, "maj", time.time()))
    assert p["segment_key"] == "intern", p


def test_window_edges_and_lost_events():
    uid, tok = new_user("Window")
    m, f = Model(), fam("window")
    inside, outside = host("WinIn"), host("WinOut")
    # t0 some days back (a window of its own: no other test has events around
    # its edge, also on a stack reused across runs)
    t0 = int(time.time()) - 5 * DAY - random.randrange(0, 5 * DAY)
    edge = t0 - 30 * DAY
    # 4 recent events each, plus one just inside (edge + 10 min) / just outside (edge - 10 min)
    send(m, tok, [event(inside, "w", f, "a", created=t0 - 60 * i) for i in range(4)] +
         [event(inside, "w", f, "a", created=edge + 600)])
    send(m, tok, [event(outside, "w", f, "a", created=t0 - 60 * i) for i in range(4)] +
         [event(outside, "w", f, "a", created=edge - 600)])
    aggregate(full=1, now=iso(t0))
    p_in, p_out = profile(tok, inside, "w"), profile(tok, outside, "w")
    check_hint(p_in, m.expect(inside, "w", t0))
    check_hint(p_out, m.expect(outside, "w", t0))
    assert (p_in["runs"], p_in["style_hint"]["source"]) == (5, "form"), p_in
    assert (p_out["runs"], p_out["style_hint"]["source"]) == (4, None), p_out
    # 20 minutes later the inside event has left the window: an incremental run
    # recomputes that form (it lost an event) and the other non-form profile of
    # its family (its family pool lost one), nothing else
    r = aggregate(now=iso(t0 + 1200))
    assert (r["full"], r["updated_profiles"]) == (False, 2), r
    p_in = profile(tok, inside, "w")
    check_hint(p_in, m.expect(inside, "w", t0 + 1200))
    assert (p_in["runs"], p_in["style_hint"]["source"]) == (4, None), p_in
    # a window of 31 days takes the outside event back in (another length: a full run)
    r = aggregate(days=31, now=iso(t0 + 1200))
    assert r["full"] is True, r
    p_out = profile(tok, outside, "w")
    check_hint(p_out, m.expect(outside, "w", t0 + 1200, days=31))
    assert p_out["style_hint"]["source"] == "form", p_out
    # back to the default window (and the real clock: the window moved back, so a full run)
    assert aggregate()["full"] is True


def test_incremental_counts_and_same_hints_as_full():
    uid, tok = new_user("Incremental")
    m, g, k = Model(), fam("incg"), fam("inck")
    g_form, g_family, g_none = host("IncForm"), host("IncFamily"), host("IncNone")
    k_form = host("IncOtherFamily")
    send(m, tok, [event(g_form, "x", g, "a", edit=i) for i in range(6)])           # form level
    send(m, tok, [event(g_family, "x", g, "a") for _ in range(4)])                 # family pool: 10 a
    send(m, tok, [event(g_none, "x", g, "b", title="Junior Developer")])           # a segment, 1 b: family a
    send(m, tok, [event(k_form, "x", k, "c") for _ in range(5)])
    aggregate(full=1)
    forms = [(g_form, "x"), (g_family, "x"), (g_none, "x"), (k_form, "x")]
    for h, s in forms:
        check_hint(profile(tok, h, s), m.expect(h, s, time.time()))
    assert aggregate()["updated_profiles"] == 0          # nothing changed since
    # a new event on the form-level profile of g: it changes, and so may the two
    # profiles of g whose hint comes from the family; k is untouched
    send(m, tok, [event(g_form, "x", g, "b", helpful=False)])
    r = aggregate()
    assert (r["full"], r["updated_profiles"]) == (False, 3), r
    # a duplicate re-sent changes nothing
    r = sync(tok, [dict(event(g_form, "x", g, "a"), event_id="inc-1")])
    assert r.json["accepted"] == 1
    aggregate()
    r = sync(tok, [dict(event(g_form, "x", g, "a"), event_id="inc-1")])
    assert r.json["duplicates"] == 1
    assert aggregate()["updated_profiles"] == 0
    m.add(event(g_form, "x", g, "a"), time.time())
    # incremental hints == full-run hints, for every profile of both families
    q = ("SELECT host, schema_hash, style_hint::text, explanation, runs, segment_key FROM learning_form_profiles"
         " WHERE family IN ('%s', '%s') ORDER BY host, schema_hash" % (g, k))
    incremental = psql(q)
    assert len(incremental) == 4
    r = aggregate(full=1)
    assert r["full"] is True and r["updated_profiles"] >= 4, r
    assert psql(q) == incremental
    for h, s in forms:
        check_hint(profile(tok, h, s), m.expect(h, s, time.time()))


def test_two_aggregations_at_once_do_the_work_once():
    uid, tok = new_user("Parallel")
    m, f = Model(), fam("parallel")
    aggregate()
    send(m, tok, [event(host("Par%d" % i), "p", f, "a") for i in range(6)])
    results = []

    def run():
        results.append(post("/api/v1/admin/learning/aggregate", token=admin_token()))
    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.status == 200 for r in results), results
    updated = sorted(r.json["updated_profiles"] for r in results)
    # one run did the 6 profiles; the other skipped (lock held) or found nothing left
    assert updated == [0, 6], results
    assert all(r.json["skipped"] or r.json["updated_profiles"] == 6 or r.json["updated_profiles"] == 0
               for r in results)


def test_a_run_while_another_holds_the_lock_skips():
    uid, tok = new_user("Locked")
    m, f = Model(), fam("locked")
    aggregate()
    send(m, tok, [event(host("Locked"), "l", f, "a") for _ in range(5)])
    # another session holds the aggregator's advisory lock (as a running aggregation does)
    holder = subprocess.Popen(["psql", "-X", "-q", PG, "-c", "SELECT pg_advisory_lock(7455001), pg_sleep(60)"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7455001"
                              " AND granted") == [["1"]], what="the advisory lock held")
        runs_before = int(psql("SELECT skipped_total FROM learning_state")[0][0])
        r = aggregate()
        assert (r["skipped"], r["updated_profiles"]) == (True, 0), r
        assert int(psql("SELECT skipped_total FROM learning_state")[0][0]) == runs_before + 1
        assert profile(tok, host("Locked"), "l")["style_hint"] is None      # nothing written
        p = ctl("learning", "aggregate")
        assert "skipped" in p.stdout, p.stdout
    finally:
        # the holder's backend sleeps on: end it (psql killed alone would leave it holding the lock)
        psql("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7455001"
             " AND granted AND pid <> pg_backend_pid()")
        holder.terminate()
        holder.wait(timeout=30)
    wait_for(lambda: psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7455001") ==
             [["0"]], what="the advisory lock released")
    # the skipped work is still pending: the next run does it
    r = aggregate()
    assert (r["skipped"], r["updated_profiles"]) == (False, 1), r
    check_hint(profile(tok, host("Locked"), "l"), m.expect(host("Locked"), "l", time.time()))


# ---- reads, stats, metrics, job, CLI ------------------------------------------

def cache_counts():
    r = get("/api/v1/admin/cache/stats", token=admin_token())
    assert r.status == 200, r
    entry = [n for n in r.json["namespaces"] if n["namespace"] == "learning"][0]
    return entry["since_start"]["hits"], entry["since_start"]["misses"]


def test_profile_read_cache_and_refresh():
    uid, tok = new_user("Cache")
    m, f, h = Model(), fam("cache"), host("Cache")
    assert_error(get("/api/extension/learning/profile?host=%s&schema_hash=nope" % h, token=tok), 404, "not_found")
    assert_error(get("/api/extension/learning/profile?host=%s" % h, token=tok), 400, "invalid_argument",
                 "schema_hash")
    assert_error(get("/api/extension/learning/profile?host=%s&schema_hash=c" % h), 401, "unauthenticated")
    send(m, tok, [event(h, "c", f, "a") for _ in range(3)])
    p = profile(tok, h.upper(), "c")                   # host is case-insensitive
    assert (p["style_hint"], p["aggregated_at"], p["runs"]) == (None, None, 3), p
    aggregate()
    first = profile(tok, h, "c")
    hits0, _ = cache_counts()
    again = get("/api/extension/learning/profile?host=%s&schema_hash=c" % h, token=tok)
    assert again.json == first
    hits1, _ = cache_counts()
    assert hits1 >= hits0 + 1, (hits0, hits1)
    # the aggregator changes the profile: the next read shows the new hint
    send(m, tok, [event(h, "c", f, "a") for _ in range(2)])
    aggregate()
    p = profile(tok, h, "c")
    check_hint(p, m.expect(h, "c", time.time()))
    assert p["style_hint"]["source"] == "form" and first["style_hint"]["source"] is None, (first, p)
    # an admin token reads it too
    assert get("/api/extension/learning/profile?host=%s&schema_hash=c" % h, token=admin_token()).json == p


def test_stats_match_the_profiles():
    aggregate()
    r = get("/api/v1/admin/learning/stats", token=admin_token())
    assert r.status == 200, r
    s = r.json
    rows = psql("SELECT coalesce(style_hint->>'source', CASE WHEN aggregated_at IS NULL THEN 'not' ELSE 'none' END),"
                " count(*) FROM learning_form_profiles GROUP BY 1")
    by = {k: int(v) for k, v in rows}
    assert s["profiles"] == sum(by.values())
    for src in ("form", "segment", "family", "none"):
        assert s["sources"][src] == by.get(src, 0), (src, s, by)
    assert s["not_aggregated"] == by.get("not", 0)
    segs = {k: int(v) for k, v in psql("SELECT segment_key, count(*) FROM learning_form_profiles"
                                       " WHERE segment_key IS NOT NULL GROUP BY 1")}
    assert s["segments"] == {k: segs.get(k, 0) for k in ("intern", "junior", "senior", "default")}, s
    # every event of this file was received within the last 24 h
    assert s["events_last_24h"] == int(psql("SELECT count(*) FROM learning_events")[0][0])
    assert_error(get("/api/v1/admin/learning/stats", token=new_user("NoAdmin")[1]), 403, "forbidden")
    assert_error(post("/api/v1/admin/learning/aggregate", token=new_user("NoAdmin2")[1]), 403, "forbidden")
    assert_error(post("/api/v1/admin/learning/aggregate?days=0", token=admin_token()), 400, "invalid_argument",
                 "days")


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError("no metric " + name)


def test_metrics_lines():
    uid, tok = new_user("Metrics")
    h = host("Metrics")
    before = get("/metrics").body
    r = sync(tok, [event(h, "m", fam("metrics"), "a", event_id="m-1"), event(h, "m", fam("metrics"), "a", edit=-5)])
    assert (r.json["accepted"], len(r.json["rejected"])) == (1, 1)
    sync(tok, [event(h, "m", fam("metrics"), "a", event_id="m-1")])
    aggregate()
    after = get("/metrics").body
    for outcome, delta in (("accepted", 1), ("duplicate", 1), ("rejected", 1)):
        name = 'tally_learning_events_total{outcome="%s"}' % outcome
        assert metric(after, name) - metric(before, name) == delta, outcome
    runs = 'tally_learning_aggregation_runs_total{outcome="completed"}'
    assert metric(after, runs) >= metric(before, runs) + 1
    hints = {src: metric(after, 'tally_learning_hints{source="%s"}' % src)
             for src in ("form", "segment", "family", "none")}
    by = {(k or "none"): int(v) for k, v in psql("SELECT style_hint->>'source', count(*)"
                                                 " FROM learning_form_profiles WHERE aggregated_at IS NOT NULL"
                                                 " GROUP BY 1")}
    assert hints == {src: by.get(src, 0) for src in hints}, (hints, by)
    assert "tally_learning_aggregation_duration_seconds_total" in after


def test_job_kind_schedule_and_cli():
    uid, tok = new_user("Job")
    m, h = Model(), host("Job")
    send(m, tok, [event(h, "j", fam("job"), "a") for _ in range(5)])
    r = post("/api/v1/admin/jobs", {"kind": "learning_aggregate", "payload": {"days": 30}, "priority": "high"},
             token=admin_token())
    assert r.status == 201, r
    jid = r.json["id"]
    wait_for(lambda: psql("SELECT status FROM jobs WHERE id = %d" % jid) == [["succeeded"]], timeout=30,
             what="the learning_aggregate job")
    assert profile(tok, h, "j")["style_hint"]["source"] == "form"
    r = post("/api/v1/admin/jobs", {"kind": "learning_aggregate", "payload": {"days": "x"}}, token=admin_token())
    jid = r.json["id"]
    wait_for(lambda: psql("SELECT last_error IS NOT NULL FROM jobs WHERE id = %d" % jid) == [["t"]], timeout=30,
             what="the bad job's error")
    # the migration's down then up (in a transaction rolled back) leaves the hourly schedule
    sql_dir = os.path.join(ROOT, "sql")
    script = "BEGIN;\n%s\n%s\nSELECT kind, cron, enabled FROM job_schedules WHERE name = 'hourly_learning_aggregate';" \
             "\nROLLBACK;\n" % (open(os.path.join(sql_dir, "007_learning.down.sql")).read(),
                                open(os.path.join(sql_dir, "007_learning.up.sql")).read())
    out = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", PG, "-f", "-"], input=script,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines() == ["learning_aggregate|7 * * * *|t"], out.stdout
    # tallyctl
    send(m, tok, [event(h, "j2", fam("job"), "a") for _ in range(5)])
    p = ctl("learning", "aggregate", "--days", "30")
    assert "profiles updated" in p.stdout and "incremental" in p.stdout, p.stdout
    assert profile(tok, h, "j2")["style_hint"]["source"] == "form"
    p = ctl("learning", "aggregate", "--days", "0", check=False)
    assert p.returncode == 2, p
    p = ctl("learning", "frobnicate", check=False)
    assert p.returncode == 2, p
    p = ctl("learning", "aggregate", "--full")
    assert "full" in p.stdout, p.stdout


def test_seed_demo_all_four_sources():
    # The split is the demo's own: events other runs left in the same
    # families (tallyctl seed-demo in test_12 seeds learning events too)
    # would lift the small families to the family level.
    psql("DELETE FROM learning_events")
    psql("DELETE FROM learning_form_profiles")
    seed = random.randrange(1, 0xffff)
    p = ctl("learning", "seed-demo", "--seed", seed)
    assert "learning events over 300 forms" in p.stdout, p.stdout
    rows = psql("SELECT coalesce(style_hint->>'source', 'none'), count(*) FROM learning_form_profiles"
                " WHERE host LIKE 'careers-%%-%04x.%%' GROUP BY 1" % seed)
    share = {k: int(v) / 300 for k, v in rows}
    assert sum(int(v) for _, v in rows) == 300, rows
    # the seed's expected split: form 30-40 %, segment 20-30 %, family 20-30 %, none 10-20 %
    assert 0.30 <= share["form"] <= 0.40 and 0.20 <= share["segment"] <= 0.30, share
    assert 0.20 <= share["family"] <= 0.30 and 0.10 <= share["none"] <= 0.20, share
    # the same seed again: every event is a duplicate (event ids are derived from the seed)
    before = psql("SELECT count(*) FROM learning_events")
    ctl("learning", "seed-demo", "--seed", seed)
    assert psql("SELECT count(*) FROM learning_events") == before


def tile(body, ident):
    m = re.search(r'id="%s">([^<]*)<' % re.escape(ident), body)
    assert m, ident
    return int(m.group(1))


def test_dashboard_page_figures_search_escaping_and_button():
    from test_90_admin import Browser, csrf_of, logged_in
    uid, tok = new_user("Dashboard")
    evil_host = "evil-%s\"'<b>&amp;x" % RUN
    evil_style = "<script>alert('s')</script>"
    evil_family = "<i>f&amp;</i>-" + RUN
    r = sync(tok, [event(evil_host, "<s>", evil_family, evil_style, title="Senior Data Engineer") for _ in range(5)])
    assert r.status == 200 and r.json["accepted"] == 5, r
    assert Browser().req("GET", "/admin/learning").status == 303
    b = logged_in()
    page = b.req("GET", "/admin/learning")
    assert page.status == 200, page
    # the button runs the aggregation (CSRF required)
    assert b.req("POST", "/admin/learning/aggregate", {}).status == 403
    r = b.req("POST", "/admin/learning/aggregate", {"csrf_token": csrf_of(page.body)})
    assert r.status == 303 and r.headers["location"].startswith("/admin/learning?"), r
    page = b.req("GET", r.headers["location"])
    assert 'id="aggregated-count"' in page.body or "skipped" in page.body
    # the figures are the JSON API's
    stats = get("/api/v1/admin/learning/stats", token=admin_token()).json
    assert tile(page.body, "learning-profiles") == stats["profiles"]
    for src in ("form", "segment", "family", "none"):
        assert tile(page.body, "learning-source-" + src) == stats["sources"][src], src
    assert tile(page.body, "learning-not-aggregated") == stats["not_aggregated"]
    chart = json.loads(re.search(r'<script type="application/json" id="chart-data">(.*?)</script>', page.body,
                                 re.S).group(1))
    assert chart["learning_sources"]["values"] == [stats["sources"][k] for k in ("form", "segment", "family", "none")]
    assert chart["learning_segments"]["values"] == [stats["segments"][k]
                                                    for k in ("intern", "junior", "senior", "default")]
    # hostile host, family and style strings are escaped (the search shows all three)
    found = b.req("GET", "/admin/learning?host=" + urllib.parse.quote("EVIL-" + RUN))
    assert found.status == 200
    assert "<b>&amp;x" not in found.body and "<script>alert" not in found.body
    assert "evil-%s&quot;&#39;&lt;b&gt;&amp;amp;x" % RUN in found.body, found.body[-3000:]
    assert "&lt;script&gt;alert(&#39;s&#39;)&lt;/script&gt;" in found.body
    assert "<i>f&amp;</i>" not in found.body and "&lt;i&gt;f&amp;amp;&lt;/i&gt;-" + RUN in found.body
    want = m_expect_single(evil_host.lower(), evil_family, evil_style)
    assert html.escape(want, quote=False) in found.body, (want, found.body[-3000:])
    # a search that finds nothing, with LIKE wildcards taken literally
    none = b.req("GET", "/admin/learning?host=%25_nothing_" + RUN)
    assert 'id="learning-search-empty"' in none.body


def m_expect_single(h, family, style):
    """The explanation of a form whose 5 events are its family's only ones."""
    m = Model()
    for _ in range(5):
        m.add(event(h, "<s>", family, style, title="Senior Data Engineer"), time.time())
    return m.expect(h, "<s>", time.time())["explanation"]


def test_zz_restore_schedule():
    if SCHEDULE_AT_START == [["t"]]:
        psql("UPDATE job_schedules SET enabled = true WHERE name = 'hourly_learning_aggregate'")
    assert psql("SELECT enabled FROM job_schedules WHERE name = 'hourly_learning_aggregate'") == SCHEDULE_AT_START
