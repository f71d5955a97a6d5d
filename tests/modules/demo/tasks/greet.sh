#!/bin/sh
# A Bolt-style task: parameters arrive as PT_* variables and as JSON on stdin.
input=$(cat)
case "$PT_mode" in
  fail) printf '{"_error": {"kind": "demo/refused", "msg": "refusing %s", "details": {"who": "%s"}}}' "$PT_name" "$PT_name" ;;
  text) echo "plain text for $PT_name" ;;
  crash) echo "partial"; exit 4 ;;
  *) printf '{"greeting": "hello %s", "stdin_has_task": %s}' "$PT_name" "$(echo "$input" | grep -q '"_task":"demo::greet"' && echo true || echo false)" ;;
esac
