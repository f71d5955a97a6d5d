#!/bin/sh
# Example task `agent::install`: parameters arrive as JSON on stdin (so the API
# key is never in the environment); writes the agent's config, mode 0600.
input=$(cat)
field() { printf '%s' "$input" | sed -n "s/.*\"$1\": *\"\([^\"]*\)\".*/\1/p"; }
environment=$(field environment)
prefix=$(field prefix)
key=$(field api_key)
umask 077
mkdir -p "$prefix" && printf 'environment=%s\napi_key=%s\n' "$environment" "$key" > "$prefix/agent.conf" || {
  echo "{\"_error\": {\"kind\": \"agent/install-failed\", \"msg\": \"cannot write $prefix/agent.conf\"}}"
  exit 1
}
echo "{\"installed\": true, \"environment\": \"$environment\", \"config\": \"$prefix/agent.conf\"}"
