#!/bin/sh
# Prints its arguments one per line, and where it runs from.
for a in "$@"; do printf '<%s>\n' "$a"; done
case "$0" in /tmp/*) echo "in-temp" ;; *) echo "elsewhere: $0" ;; esac
