#!/bin/sh
# drover stdlib task `haproxy::drain`: stop new sessions, wait for the
# current ones to end.
. "$PT__installdir/drover/files/json.sh"
. "$PT__installdir/haproxy/files/api.sh"
timeout=${PT_timeout:-60}
server_stat
change "set server $backend/$server state drain"
waited=0
while :; do
  server_stat
  [ "${sessions:-0}" -eq 0 ] && break
  if [ "$waited" -ge "$timeout" ]; then
    fail drover.haproxy/drain-timeout \
      "$backend/$server still has $sessions session(s) after ${timeout}s" \
      "{\"backend\": $(json_str "$backend"), \"server\": $(json_str "$server"), \"sessions\": $sessions}"
  fi
  sleep 1
  waited=$((waited + 1))
done
report ", \"waited_s\": $waited"
