#!/bin/sh
case $PT_kind in
  json) echo '{"answer": 42, "list": [1, "two"]}' ;;
  text) printf 'just text\nover two lines\n' ;;
  error) echo '{"_error": {"kind": "outputs/refused", "msg": "refused politely", "details": {"why": "asked to"}}}' ;;
  exit) echo 'partial output'; echo 'to stderr' >&2; exit 3 ;;
  binary) printf 'bytes \377\376 end\n' ;;
  flood) head -c 52428800 /dev/zero | tr '\0' x ;;
  linger) echo '{"started": true}'; exec >&- 2>&-; sleep 60 ;;
  secret) echo '{"user": "admin", "_sensitive": {"password": "hunter2-from-task"}}' ;;
  echo) . "$PT__installdir/drover/files/json.sh"; printf '{"text": %s}\n' "$(json_str "$PT_text")" ;;
  whoami) printf '{"user": "%s"}\n' "$(id -un)" ;;
  where) printf '{"path": "%s", "pid": %s}\n' "$0" $$ ;;
esac
