#!/bin/sh
# `meet.sh wait FLAG`: says it started (FLAG.started), then waits up to 20 s
# for FLAG; `meet.sh make FLAG` makes it. tests/ssh.rs runs both at once on
# one target, the second while the first runs.
case $1 in
  wait)
    : > "$2.started"
    i=0
    while [ ! -e "$2" ]; do
      i=$((i + 1))
      [ "$i" -le 400 ] || { echo "no $2 after 20 s" >&2; exit 1; }
      sleep 0.05
    done
    echo met ;;
  make) : > "$2"; echo made ;;
esac
