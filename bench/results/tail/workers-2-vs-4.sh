#!/bin/bash
# The exact script of the workers 2 vs 4 runs (20261201T2124Z-workers-2-vs-4.txt), kept as run: it
# expects bench/tail's stack running and an admin token in /tmp/tail-token2.
cd /work/wt-tail
export TALLY_VAR=$PWD/var/bench-tail
. var/bench-tail/env
TOKEN=$(cat /tmp/tail-token2)
P="/api/v1/users/1/metrics/category_breakdown?period=$(date -u +%Y-%m)"
SIZE=$(curl -s -H "Authorization: Bearer $TOKEN" "$TALLY_URL$P" | wc -c)
for r in 4 5 6 7; do
  for mode in w2 w4; do
    w=4; [ $mode = w2 ] && w=2
    "$TALLY_VAR/bare_fcgi" "$TALLY_VAR/run/bare.sock" $w & BP=$!
    scripts/stack stop tallyd >/dev/null
    TALLY_WORKERS=$w scripts/stack start tallyd >/dev/null
    sleep 0.3; chmod 666 "$TALLY_VAR/run/bare.sock"
    MP=$(cat $TALLY_PIDFILE)
    [ $mode = w4nice ] && renice -n 5 -p $(pgrep -x -P $MP tallyd) >/dev/null
    for i in $(seq 20); do curl -s -o /dev/null -H "Authorization: Bearer $TOKEN" "$TALLY_URL$P"; done
    t=$(BENCH_TOKEN=$TOKEN wrk -t2 -c64 -d5s -s bench/report.lua "$TALLY_URL$P" | tail -1)
    b=$(BENCH_TOKEN= wrk -t2 -c64 -d5s -s bench/report.lua "$TALLY_URL/bare/tail?size=$SIZE" | tail -1)
    kill $BP; wait $BP 2>/dev/null
    python3 -c "import json,sys; t=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); print(sys.argv[3], sys.argv[4], 'load', sys.argv[5], 'tally rps %.0f p50 %.2f p99 %.2f | bare rps %.0f p50 %.2f p99 %.2f | ratio %.2f' % (t['rps'], t['p50_ms'], t['p99_ms'], b['rps'], b['p50_ms'], b['p99_ms'], t['p99_ms']/b['p99_ms']))" "$t" "$b" $r $mode "$(cut -d' ' -f1 /proc/loadavg)"
  done
done
scripts/stack stop tallyd >/dev/null; scripts/stack start tallyd >/dev/null
