#!/bin/sh
# Counts how many copies of itself run at once: $TRACK_DIR/max is the peak.
set -e
cd "$TRACK_DIR"
bump() { flock lock sh -c "n=\$(cat now 2>/dev/null || echo 0); n=\$((n $1)); echo \$n > now; m=\$(cat max 2>/dev/null || echo 0); [ \$n -gt \$m ] && echo \$n > max; echo x >> runs; true"; }
bump "+ 1"
sleep 0.2
flock lock sh -c 'n=$(cat now); echo $((n - 1)) > now'
