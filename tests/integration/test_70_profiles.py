"""Profiles: auto-creation, promotion of an intent at exactly its 5th
occurrence (through the chat endpoint), cumulative moving averages against
values computed here, feedback idempotence, completeness progression, average
spending by category in step with inserted transactions, the cache, and the
context endpoint."""
from decimal import Decimal, ROUND_HALF_UP

from harness import assert_error, get, new_user, post, psql


def profile(uid, tok):
    r = get("/api/v1/users/%d/profile" % uid, token=tok)
    assert r.status == 200, r
    return r.json


def cents(v):
    return int((Decimal(str(v)) * 100).to_integral_value())


def test_profile_created_on_first_read():
    uid, tok = new_user("Profile")
    assert psql("SELECT count(*) FROM user_profiles WHERE user_id = %d" % uid) == [["0"]]
    p = profile(uid, tok)
    assert p["user_id"] == uid
    assert p["preferences"] == {"preferred_categories": [], "preferred_merchants": [], "currency": "EUR",
                                "language": "fr", "notification_preference": None}
    assert p["habits"] == {"frequent_query_patterns": [], "query_frequency": {}, "average_spending_by_category": {}}
    assert p["interactions"]["accepted_recommendations"] == [] and p["interactions"]["dismissed_recommendations"] == []
    s = p["stats"]
    assert (s["total_queries"], s["total_sessions"], s["profile_completeness"], s["last_active"]) == (0, 0, 0, None)
    assert psql("SELECT count(*) FROM user_profiles WHERE user_id = %d" % uid) == [["1"]]
    assert profile(uid, tok) == p      # second read (cached) is the same
    assert_error(get("/api/v1/users/999999999/profile", token=tok), 403, "forbidden")


def test_sessions_moving_averages():
    uid, tok = new_user("Sessions")
    sessions = [(300, 4), (120.5, 2), (45, 0), (1000.25, 13)]
    for i, (d, q) in enumerate(sessions, 1):
        r = post("/api/v1/users/%d/sessions" % uid, {"duration_s": d, "queries": q}, token=tok)
        assert r.status == 200, r
        st = r.json["stats"]
        want_d = sum(Decimal(str(x[0])) for x in sessions[:i]) / i
        want_q = Decimal(sum(x[1] for x in sessions[:i])) / i
        assert st["total_sessions"] == i
        assert abs(Decimal(str(st["avg_session_duration_s"])) - want_d) < Decimal("0.001"), (st, want_d)
        assert abs(Decimal(str(st["avg_queries_per_session"])) - want_q) < Decimal("0.001"), (st, want_q)
        assert st["last_active"] is not None
    assert profile(uid, tok)["stats"]["total_sessions"] == 4
    for bad in ({"duration_s": -1, "queries": 1}, {"duration_s": 10}, {"duration_s": "10", "queries": 1},
                {"duration_s": 10, "queries": 1.5}, {"duration_s": 10, "queries": -2}):
        assert_error(post("/api/v1/users/%d/sessions" % uid, bad, token=tok), 422, "invalid_argument")
    assert profile(uid, tok)["stats"]["total_sessions"] == 4


def test_feedback_idempotent():
    uid, tok = new_user("Feedback")
    for _ in range(3):
        r = post("/api/v1/users/%d/profile/feedback" % uid, {"recommendation_id": "r-1", "action": "accepted"},
                 token=tok)
        assert r.status == 200, r
    i = r.json["interactions"]
    assert i["accepted_recommendations"] == ["r-1"] and i["dismissed_recommendations"] == []
    post("/api/v1/users/%d/profile/feedback" % uid, {"recommendation_id": "r-2", "action": "dismissed"}, token=tok)
    post("/api/v1/users/%d/profile/feedback" % uid, {"recommendation_id": "r-2", "action": "dismissed"}, token=tok)
    i = profile(uid, tok)["interactions"]
    assert i["accepted_recommendations"] == ["r-1"] and i["dismissed_recommendations"] == ["r-2"]
    # the last action wins, the id is never in both lists
    r = post("/api/v1/users/%d/profile/feedback" % uid, {"recommendation_id": "r-1", "action": "dismissed"}, token=tok)
    i = r.json["interactions"]
    assert i["accepted_recommendations"] == [] and sorted(i["dismissed_recommendations"]) == ["r-1", "r-2"]
    assert_error(post("/api/v1/users/%d/profile/feedback" % uid, {"recommendation_id": "r-3", "action": "liked"},
                      token=tok), 422, "invalid_argument", "action")
    assert_error(post("/api/v1/users/%d/profile/feedback" % uid, {"action": "accepted"}, token=tok), 422,
                 "invalid_argument", "recommendation_id")
    assert_error(post("/api/v1/users/%d/profile/feedback" % uid, "x", token=tok, content_type="text/plain"), 415,
                 "unsupported_media_type")


def _txn(ext, date, cents_, cat, merchant="Shop"):
    return {"external_id": ext, "date": date, "amount": str(Decimal(cents_) / 100), "currency": "EUR",
            "merchant": merchant, "category": cat}


def test_average_spending_in_step_with_transactions():
    uid, tok = new_user("Spending")
    items = [_txn("a", "2026-01-03", -10000, "Restaurant"), _txn("b", "2026-01-20", -5001, "Transport"),
             _txn("c", "2026-02-11", -20000, "Restaurant"), _txn("d", "2026-02-12", 250000, "Salaire"),
             _txn("e", "2026-03-01", -333, "Transport")]
    assert post("/api/v1/users/%d/transactions" % uid, items, token=tok).status == 201
    p = profile(uid, tok)
    # mean monthly spending per category over the 3 months with transactions, half away from zero
    avg = p["habits"]["average_spending_by_category"]
    assert {k: cents(v) for k, v in avg.items()} == {"Restaurant": 10000, "Transport": 1778}, avg
    assert p["preferences"]["preferred_categories"] == ["Restaurant", "Transport"]
    # a new transaction: the (cached) profile follows at once
    assert post("/api/v1/users/%d/transactions" % uid, [_txn("f", "2026-04-01", -8000, "Loisirs")],
                token=tok).status == 201
    avg = profile(uid, tok)["habits"]["average_spending_by_category"]
    assert {k: cents(v) for k, v in avg.items()} == {"Restaurant": 7500, "Transport": 1334, "Loisirs": 2000}, avg


def test_completeness_progression():
    uid, tok = new_user("Complete")
    steps = [profile(uid, tok)["stats"]["profile_completeness"]]
    assert post("/api/v1/users/%d/transactions" % uid, [_txn("x", "2026-01-03", -1000, "Restaurant", "Bistro")],
                token=tok).status == 201
    steps.append(profile(uid, tok)["stats"]["profile_completeness"])   # spending + merchant
    post("/api/v1/users/%d/sessions" % uid, {"duration_s": 60, "queries": 1}, token=tok)
    steps.append(profile(uid, tok)["stats"]["profile_completeness"])   # a session
    post("/api/v1/users/%d/profile/feedback" % uid, {"recommendation_id": "r", "action": "accepted"}, token=tok)
    steps.append(profile(uid, tok)["stats"]["profile_completeness"])   # feedback
    post("/api/v1/users/%d/sessions" % uid, {"duration_s": 60, "queries": 1}, token=tok)
    post("/api/v1/users/%d/sessions" % uid, {"duration_s": 60, "queries": 1}, token=tok)
    steps.append(profile(uid, tok)["stats"]["profile_completeness"])   # 3 sessions
    want = [round(k / 7, 2) for k in (0, 2, 3, 4, 5)]
    assert steps == want, (steps, want)


def test_pattern_promoted_exactly_at_5th_chat_query():
    uid, tok = new_user("Patterns")
    assert post("/api/v1/users/%d/transactions" % uid, [_txn("c1", "2026-10-03", -4210, "Alimentation", "Carrefour")],
                token=tok).status == 201
    intent = None
    for n in range(1, 7):
        r = post("/api/v1/conversation/chat", {"user_id": uid, "message": "Mes dépenses chez Carrefour"}, token=tok,
                 headers={"X-Tally-Now": "2026-11-15"})
        assert r.status == 200, r
        intent = "%s.%s" % (r.json["intent"]["group"], r.json["intent"]["subtype"]) \
            if "." not in r.json["intent"]["subtype"] else r.json["intent"]["subtype"]
        h = profile(uid, tok)
        assert h["stats"]["total_queries"] == n, ("the chat endpoint must call profiles_record_query", h["stats"])
        assert h["habits"]["query_frequency"].get(intent) == n, (intent, h["habits"])
        promoted = intent in h["habits"]["frequent_query_patterns"]
        assert promoted == (n >= 5), (n, h["habits"])
    assert h["habits"]["frequent_query_patterns"].count(intent) == 1


def test_context():
    uid, tok = new_user("Context")
    assert post("/api/v1/users/%d/transactions" % uid, [_txn("k1", "2026-11-03", -4210, "Alimentation", "Carrefour"),
                                                       _txn("k2", "2026-10-03", -1000, "Alimentation", "Carrefour")],
                token=tok).status == 201
    r = get("/api/v1/users/%d/context?period=2026-11" % uid, token=tok)
    assert r.status == 200, r
    c = r.json
    assert c["user_id"] == uid and c["conversation_id"] is None and c["conversation_history"] == []
    assert c["user_profile"]["user_id"] == uid
    mt = c["metrics"]["monthly_total"]
    assert mt["period"] == "2026-11" and cents(mt["value"]["spending"]) == 4210
    assert cents(c["metrics"]["mom_comparison"]["value"]["previous"]["spending"]) == 1000
    assert c["metrics"]["category_breakdown"]["value"]["categories"][0]["category"] == "Alimentation"
    # a conversation: the latest is used, messages in order, user messages carry their intent
    for msg in ("Mes dépenses chez Carrefour", "Mes dépenses en alimentation"):
        rr = post("/api/v1/conversation/chat", {"user_id": uid, "message": msg}, token=tok,
                  headers={"X-Tally-Now": "2026-11-15"})
        assert rr.status == 200, rr
        conv = rr.json["conversation_id"]
        post("/api/v1/conversation/chat", {"user_id": uid, "message": msg, "conversation_id": conv}, token=tok,
             headers={"X-Tally-Now": "2026-11-15"})
    rows = psql("SELECT role, content, coalesce(intent, '') FROM conversation_messages WHERE conversation_id = '%s'"
                " ORDER BY id" % conv.replace("'", ""))
    c = get("/api/v1/users/%d/context?period=2026-11" % uid, token=tok).json
    assert c["conversation_id"] == conv
    hist = c["conversation_history"]
    assert [(h["type"], h["content"]) for h in hist] == \
        [("user_message" if r[0] == "user" else "assistant_response", r[1]) for r in rows][-10:]
    assert all(h.get("intent") for h in hist if h["type"] == "user_message")
    c = get("/api/v1/users/%d/context?conversation_id=%s&limit=2" % (uid, conv), token=tok).json
    assert len(c["conversation_history"]) == 2
    c = get("/api/v1/users/%d/context?conversation_id=c-nope" % uid, token=tok).json
    assert c["conversation_history"] is None and c["user_profile"] is not None
    assert_error(get("/api/v1/users/%d/context?limit=0" % uid, token=tok), 400, "invalid_argument", "limit")


def test_invalidation_while_memcached_hangs_never_leaves_a_stale_profile():
    """The cached profile cannot be deleted while memcached hangs (SIGSTOP:
    it keeps its data); once it answers again the old entry must not be
    served: the failed delete moved the namespace to a new generation."""
    import os
    import signal
    import time
    from harness import stack, wait_for
    uid, tok = new_user("Hang")
    for _ in range(3):
        assert get("/api/v1/users/%d/profile" % uid, token=tok).json["stats"]["total_sessions"] == 0
    mc = int(stack("pid", "memcached"))
    os.kill(mc, signal.SIGSTOP)
    try:
        r = post("/api/v1/users/%d/sessions" % uid, {"duration_s": 10, "queries": 1}, token=tok)
        assert r.status == 200 and r.json["stats"]["total_sessions"] == 1, r
    finally:
        os.kill(mc, signal.SIGCONT)
    # Clients retry the server after their 1 s back-off: polled until a profile read is a memcached
    # hit again (the profiles namespace's hit counter grows), every answer fresh meanwhile.
    from harness import admin_token

    def profile_hits():
        ns = get("/api/v1/admin/cache/stats", token=admin_token()).json["namespaces"]
        return [n for n in ns if n["namespace"] == "profiles"][0]["since_start"]["hits"]

    hits = profile_hits()

    def fresh_and_hit():
        assert get("/api/v1/users/%d/profile" % uid, token=tok).json["stats"]["total_sessions"] == 1
        return profile_hits() > hits
    wait_for(fresh_and_hit, timeout=10, interval=0.1, what="a profile read from memcached again")

    # Each worker retries memcached after its own back-off: polled until 12 reads in a row (more
    # than there are workers) are all fresh memcached hits, so no worker is left behind (the next
    # tests expect memcached on every worker).
    def profile_counts():
        ns = get("/api/v1/admin/cache/stats", token=admin_token()).json["namespaces"]
        c = [n for n in ns if n["namespace"] == "profiles"][0]["since_start"]
        return c["hits"], c["misses"]

    # A read asks for two keys (the user's generation token and the entry):
    # all-hit reads add two hits each and no miss.
    def twelve_hits():
        hits_before, misses_before = profile_counts()
        for _ in range(12):
            assert get("/api/v1/users/%d/profile" % uid, token=tok).json["stats"]["total_sessions"] == 1
        hits_after, misses_after = profile_counts()
        return misses_after == misses_before and hits_after - hits_before == 24
    wait_for(twelve_hits, timeout=10, interval=0.1, what="every worker reading profiles from memcached")
