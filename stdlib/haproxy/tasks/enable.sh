#!/bin/sh
# drover stdlib task `haproxy::enable`.
. "$PT__installdir/drover/files/json.sh"
. "$PT__installdir/haproxy/files/api.sh"
server_stat
change "set server $backend/$server state ready"
report
