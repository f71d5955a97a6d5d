#!/bin/sh
# Prints a few facts about the machine it runs on, as one JSON object.
# Used by plans/examples/run_everywhere.plan.
kernel=$(uname -sr)
host=$(hostname 2>/dev/null || uname -n)
up=$(cut -d' ' -f1 /proc/uptime 2>/dev/null || echo 0)
printf '{"host": "%s", "kernel": "%s", "uptime_s": %s}\n' "$host" "$kernel" "$up"
