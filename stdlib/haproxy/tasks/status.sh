#!/bin/sh
# drover stdlib task `haproxy::status`.
. "$PT__installdir/drover/files/json.sh"
. "$PT__installdir/haproxy/files/api.sh"
report
