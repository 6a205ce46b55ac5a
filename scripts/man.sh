#!/usr/bin/env bash
# Writes the tailor(1) man page to stdout from the command's own help (tailor --help and every
# tailor COMMAND --help), so the page says what the binary does and cannot drift from it.
# Usage: scripts/man.sh PATH/TO/tailor
set -euo pipefail
T=$1
# troff: backslashes doubled, hyphens as \-, a line starting with . or ' protected.
esc() { sed -e 's/\\/\\\\/g' -e 's/-/\\-/g' -e "s/^\([.']\)/\\\\\&\1/"; }
version=$("$T" --version | awk '{print $2}')
echo ".TH TAILOR 1 \"\" \"tailor $version\" \"User Commands\""
echo ".ad l"
echo ".nh"
echo ".SH NAME"
echo "tailor \\- long\\-tailed (class\\-imbalanced) classification"
echo ".SH SYNOPSIS"
echo ".B tailor"
echo ".I COMMAND"
echo "[options]"
echo ".SH DESCRIPTION"
echo "One command per task; every pluggable part is named NAME[:key=value,...]. Each command's options follow"
echo "(also printed by \\fBtailor COMMAND \\-\\-help\\fR; defaults in brackets). The library behind it is"
echo "libtailor (tailor.h, pkg\\-config tailor)."
echo ".SH COMMANDS"
"$T" --help | awk '/^  [a-z]/{print $1}' | while read -r cmd; do
    echo ".SS $cmd"
    "$T" --help | awk -v c="$cmd" '$1 == c {sub(/^  [a-z]+ +/, ""); print}' | esc
    echo ".PP"
    "$T" "$cmd" --help | sed -n '1s/^usage: //p' | esc | sed 's/^/.B /'
    "$T" "$cmd" --help | grep '^  --' | while IFS= read -r line; do
        name=$(echo "$line" | awk '{print $1}')
        echo ".TP"
        echo "$name" | esc | sed 's/^/.B /'
        echo "$line" | sed 's/^  --[a-z0-9-]* *//' | esc
    done
done
