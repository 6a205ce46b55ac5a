#!/usr/bin/env bash
# `tailor COMMAND --help` lists the methods of every family the command chooses among, rendered from
# the method tables: each entry of docs/cli.md's generated method lists (which test_methods keeps
# equal to the tables) appears in the help, with its keys and its line of help.
source "$(dirname "$0")/lib.sh"

# has_methods COMMAND FAMILY...: every method of each family is in `tailor COMMAND --help`.
has_methods() {
    local cmd=$1; shift
    $T "$cmd" --help >"$tmp/help.txt" 2>"$tmp/help.err" || { bad "tailor $cmd --help exits 0"; return; }
    local fam
    for fam in "$@"; do
        check "tailor $cmd --help lists the $fam methods as docs/cli.md does" \
            "'$PY' - docs/cli.md '$fam' '$tmp/help.txt' <<'PYEOF'
import re, sys
doc, fam, help_path = sys.argv[1:]
text = open(doc).read()
block = text.split('<!-- methods:%s -->' % fam)[1].split('<!-- /methods:%s -->' % fam)[0]
items = re.findall(r'^- \`([^\`]+)\`: (.*)$', block, re.M)
got = open(help_path).read()
missing = [name for name, line in items if '\n  %s\n      %s\n' % (name, line) not in got]
sys.exit(1 if not items or missing else 0)
PYEOF"
    done
}

has_methods train sampler loss head model ssl distill synth
has_methods retrain stage2 sampler
has_methods eval posthoc
has_methods distill distill
has_methods study sampler loss head stage2 posthoc
finish
