#!/bin/sh
# drover stdlib task `haproxy::enable`: back in rotation, then (as Ansible's
# haproxy module with `wait`) wait until its health checks put it fully UP. A
# server that does not come UP goes back to maintenance.
. "$PT__installdir/drover/files/json.sh"
. "$PT__installdir/haproxy/files/api.sh"
wait=${PT_wait:-30}
server_stat
change "set server $backend/$server state ready"
# Settled: not "UP 1/2", which one failed check would take down.
tries=$((wait * 5))
while { [ "$status" != UP ] || [ "$settled" != true ]; } && [ "$tries" -gt 0 ]; do
  sleep 0.2
  tries=$((tries - 1))
  server_stat
done
if [ "$status" != UP ] && [ "$wait" -gt 0 ]; then
  change "set server $backend/$server state maint"
  fail drover.haproxy/not-up \
    "$backend/$server is not UP after ${wait}s (its status was $status): it is back in maintenance" \
    "{\"backend\": $(json_str "$backend"), \"server\": $(json_str "$server"), \"status\": $(json_str "$status")}"
fi
report
