#!/usr/bin/env bash
# Checks and unit-tests Vigil's Prometheus alert rules with promtool (Debian `prometheus`, installed if
# missing); with --scrape ADDR also starts a real Prometheus on loopback that scrapes Vigil's /metrics at
# ADDR (host:port) as job "vigil" with those rules loaded, and checks the target's health is "up".
#
# Usage: tests/peers/promtool.sh [--scrape 127.0.0.1:8080] [--prom-port 19090]
# Prints "N passed, N failed"; exit status 1 on any failure. Stops the Prometheus it started (by PID).
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"
set +e

ROOT="$(cd "$PEERS_DIR/../.." && pwd)"
RULES_DIR="$ROOT/alerts/prometheus"
SCRAPE=""; PROM_PORT=19090
while [ $# -gt 0 ]; do
  case "$1" in
    --scrape) SCRAPE="$2"; shift 2 ;;
    --prom-port) PROM_PORT="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done

need_apt promtool prometheus
passed=0; failed_n=0
check() { # NAME CMD...
  local name="$1"; shift
  if "$@" >&2; then log "ok: $name"; passed=$((passed+1)); else log "FAIL: $name"; failed_n=$((failed_n+1)); fi
}

shopt -s nullglob
rules=(); tests=()
for f in "$RULES_DIR"/*.yml; do
  case "$f" in *_test.yml) tests+=("$f") ;; *) rules+=("$f") ;; esac
done
[ ${#rules[@]} -gt 0 ] || die "no rule files in $RULES_DIR"
check "promtool check rules" promtool check rules "${rules[@]}"
# test rules resolves rule_files relative to the test file, so run it from there.
for t in "${tests[@]}"; do
  check "promtool test rules $(basename "$t")" bash -c "cd '$RULES_DIR' && promtool test rules '$(basename "$t")'"
done

if [ -n "$SCRAPE" ]; then
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/vigil-prom.XXXXXX")"
  {
    echo "global: {scrape_interval: 1s, evaluation_interval: 1s}"
    echo "rule_files:"
    for r in "${rules[@]}"; do echo "  - '$r'"; done
    echo "scrape_configs:"
    echo "  - job_name: vigil"
    echo "    static_configs: [{targets: ['$SCRAPE']}]"
  } > "$WORK/prometheus.yml"
  PID="$("$PEERS_DIR/start-prometheus.sh" "$PROM_PORT" "$WORK" "$WORK/prometheus.yml")"
  if [ -n "$PID" ]; then
    trap 'kill "$PID" 2>/dev/null; rm -rf "$WORK"' EXIT
    health=""
    for _ in $(seq 1 100); do
      health="$(curl -fsS "http://127.0.0.1:$PROM_PORT/api/v1/targets" \
        | python3 -c 'import json,sys; t=[x for x in json.load(sys.stdin)["data"]["activeTargets"] if x["labels"]["job"]=="vigil"]; print(t[0]["health"] if t else "none", t[0]["lastError"] if t else "")' 2>/dev/null)"
      case "$health" in up*) break ;; esac
      sleep 0.2
    done
    log "vigil target: $health"
    check "Prometheus scrapes Vigil's /metrics with health up" test "${health%% *}" = up
    rules_health="$(curl -fsS "http://127.0.0.1:$PROM_PORT/api/v1/rules" | python3 -c 'import json,sys; g=json.load(sys.stdin)["data"]["groups"]; print(sum(len(x["rules"]) for x in g), all(r["health"]!="err" for x in g for r in x["rules"]))')"
    log "rules loaded: $rules_health"
    check "Prometheus loaded the rules without errors" test "${rules_health#* }" = True
    # Every query of the Grafana dashboards must be valid PromQL and find data against this Vigil.
    check "Grafana dashboard queries run against this Prometheus" python3 - "$PROM_PORT" "$ROOT"/dashboards/grafana/*.json <<'PY'
import json, sys, urllib.parse, urllib.request
port, files = sys.argv[1], sys.argv[2:]
bad = 0
for path in files:
    for panel in json.load(open(path))["panels"]:
        for target in panel.get("targets", []):
            expr = (target["expr"].replace("$__rate_interval", "1m")
                    .replace('"$job"', '".*"').replace('"$instance"', '".*"'))
            url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            try:
                body = json.load(urllib.request.urlopen(url, timeout=5))
                ok = body["status"] == "success"
            except Exception as error:  # a 400 means the expression does not parse
                ok, body = False, str(error)
            if not ok:
                bad += 1
                print(f"bad query in {path} panel {panel['title']!r}: {expr}: {body}", file=sys.stderr)
print(f"checked dashboard queries: {bad} bad", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
  else
    check "Prometheus started" false
  fi
fi

echo "$passed passed, $failed_n failed"
[ "$failed_n" -eq 0 ]
