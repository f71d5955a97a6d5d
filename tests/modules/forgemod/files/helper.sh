# Shared by the module's tasks: greeting NAME MODE SUFFIX TIMES.
greeting() {
  out=
  i=0
  while [ "$i" -lt "$4" ]; do
    word="hello $1$3"
    [ "$2" = shout ] && word=$(printf '%s' "$word" | tr a-z A-Z)
    out="$out${out:+ }$word"
    i=$((i + 1))
  done
  printf '%s' "$out"
}
