# Helpers shared by drover's standard-library tasks (POSIX sh). A task lists
# "drover/files/json.sh" in its metadata's `files` and sources it from
# "$PT__installdir/drover/files/json.sh".

# json_str TEXT: TEXT as a JSON string, quotes included. Tabs and newlines are
# escaped; other control characters are dropped.
json_str() {
  printf '"'
  printf '%s' "$1" |
    sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e "s/$(printf '\t')/\\\\t/g" -e 's/[[:cntrl:]]//g' |
    awk '{ if (NR > 1) printf "\\n"; printf "%s", $0 }'
  printf '"'
}

# fail KIND MESSAGE [DETAILS_JSON]: print Bolt's `_error` object, exit 1.
fail() {
  printf '{"_error": {"kind": %s, "msg": %s, "details": %s}}\n' \
    "$(json_str "$1")" "$(json_str "$2")" "${3:-"{}"}"
  exit 1
}

# need PARAM: fail unless the task was given parameter PARAM.
need() {
  eval "_need_value=\${PT_$1-}"
  [ -n "$_need_value" ] || fail drover/missing-parameter "parameter '$1' is required"
}
