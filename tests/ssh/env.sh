#!/bin/sh
# Prints PATH and DROVER_SAY with shell builtins only: its PATH may be bogus.
printf '%s %s\n' "$PATH" "$DROVER_SAY"
