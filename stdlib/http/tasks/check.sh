#!/bin/sh
# drover stdlib task `http::check`: GET a URL until it answers as expected.
. "$PT__installdir/drover/files/json.sh"
need url
url=$PT_url
expected=${PT_status:-200}
retries=${PT_retries:-0}
delay=${PT_delay:-1}
timeout=${PT_timeout:-5}
body=$(mktemp) || fail drover.http/error "cannot make a temporary file"
trap 'rm -f "$body"' EXIT

get() {
  if command -v curl >/dev/null 2>&1; then
    k=; [ "${PT_insecure:-false}" = true ] && k=-k
    curl -s $k -o "$body" -w '%{http_code}' --max-time "$timeout" -- "$url" 2>/dev/null
  elif command -v wget >/dev/null 2>&1; then
    k=; [ "${PT_insecure:-false}" = true ] && k=--no-check-certificate
    wget -q $k -S -O "$body" -T "$timeout" -t 1 -- "$url" 2>&1 |
      awk '/^  HTTP\// { code = $2 } END { print code }'
  else
    fail drover.http/no-client "neither curl nor wget is installed"
  fi
}

attempt=0
while :; do
  attempt=$((attempt + 1))
  code=$(get)
  case $code in ''|000) code=0 ;; esac
  matched=true
  if [ -n "${PT_body_match:-}" ] && ! grep -Eq -- "$PT_body_match" "$body"; then matched=false; fi
  if [ "$code" -eq "$expected" ] && [ $matched = true ]; then
    printf '{"url": %s, "status": %s, "matched": true, "attempts": %s}\n' \
      "$(json_str "$url")" "$code" "$attempt"
    exit 0
  fi
  if [ "$attempt" -gt "$retries" ]; then
    if [ "$code" -eq 0 ]; then why="no answer"; elif [ "$code" -ne "$expected" ]; then why="status $code, expected $expected"; else why="the body does not match"; fi
    tail=$(head -c 65536 "$body" | tail -c 512)
    fail drover.http/check-failed "$url: $why after $attempt attempt(s)" \
      "{\"url\": $(json_str "$url"), \"status\": $code, \"expected\": $expected, \"matched\": $matched, \"attempts\": $attempt, \"body_tail\": $(json_str "$tail")}"
  fi
  sleep "$delay"
done
