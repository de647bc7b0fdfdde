#!/usr/bin/env bash
# One scheduled `kb ingest`: take a lock so runs never overlap, append to a log, keep the exit code.
# All behaviour lives in `kb`; this file only wraps it for cron and systemd.
#   KB_HOME  data directory (default ~/.local/share/newskb)
#   KB_BIN   the kb command (default: kb on PATH)
#   KB_LOG   log file (default $KB_HOME/logs/ingest.log)
set -u
home="${KB_HOME:-$HOME/.local/share/newskb}"
kb="${KB_BIN:-kb}"
log="${KB_LOG:-$home/logs/ingest.log}"
mkdir -p "$home" "$(dirname "$log")" || exit 2

exec 9>>"$home/cron.lock"
if ! flock -n 9; then
    echo "$(date -u +%FT%TZ) another kb ingest holds $home/cron.lock; this run exits" | tee -a "$log" >&2
    exit 0
fi

echo "$(date -u +%FT%TZ) kb ingest start" >>"$log"
"$kb" --home "$home" ingest >>"$log" 2>&1
rc=$?
echo "$(date -u +%FT%TZ) kb ingest exit $rc" >>"$log"
exit "$rc"
