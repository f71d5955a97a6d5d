#!/bin/sh
# Prints each argument in brackets: shows that arguments arrive unchanged.
for a in "$@"; do printf '[%s]\n' "$a"; done
