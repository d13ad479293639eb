#!/usr/bin/env bash
# Starts a real SMTP sink, aiosmtpd (PyPI `aiosmtpd`, installed with pip if missing), on 127.0.0.1:PORT.
# Every message received is stored as one file in DIR/maildir/new/ (a Maildir).
#
#   PID=$(tests/peers/smtp.sh PORT DIR)   ...   kill "$PID"
#
# Prints only the PID on stdout; progress and errors go to stderr. Exits non-zero if it did not start.
# Used by responder's email test (VIGIL_PEER_TESTS=1).
source "$(dirname "${BASH_SOURCE[0]}")/_lib.sh"

PORT="${1:?usage: smtp.sh PORT DIR}"
WORKDIR="${2:?usage: smtp.sh PORT DIR}"
port_free "$PORT"
need_pip aiosmtpd aiosmtpd==1.4.6
# aiosmtpd creates the Maildir (with tmp/ new/ cur/) itself, only when the directory does not exist yet.
mkdir -p "$WORKDIR"
LOG="$WORKDIR/smtp.log"
python3 -u -m aiosmtpd -n -l "127.0.0.1:$PORT" -c aiosmtpd.handlers.Mailbox "$WORKDIR/maildir" >"$LOG" 2>&1 </dev/null &
PID=$!
smtp_ok() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1; head -c 3 <&3" 2>/dev/null | grep -q 220; }
wait_until 20 "$PID" smtp_ok "$PORT" || failed aiosmtpd "$PID" "$LOG"
started aiosmtpd "$PID" "$LOG"
