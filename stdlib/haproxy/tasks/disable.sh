#!/bin/sh
# drover stdlib task `haproxy::disable`.
. "$PT__installdir/drover/files/json.sh"
. "$PT__installdir/haproxy/files/api.sh"
server_stat
change "set server $backend/$server state maint"
report
