#!/usr/bin/env bash
# make install into a scratch DESTDIR, then use what it installed the way a user of the library does:
# the shared library exports the public API alone and carries its soname, pkg-config describes it,
# examples/train_arrays.c builds against the installed header and library only (dynamically and
# statically) and runs, the installed command runs, the man page renders, and the installed Python
# package loads the installed library.
source "$(dirname "$0")/lib.sh"
B=${TL_BUILD:-build}
san=; [ "$(basename "$B")" = build-san ] && san="SAN=1"
root=$tmp/root prefix=/usr/local
check "make install" "make -s $san BUILD=$B DESTDIR=$root PREFIX=$prefix install >$tmp/install.log 2>&1 || { cat $tmp/install.log; false; }"
lib=$root$prefix/lib inc=$root$prefix/include
version=$(sed -n 's/^#define TL_VERSION "\(.*\)"/\1/p' include/tailor.h)
for f in lib/libtailor.a "lib/libtailor.so.$version" include/tailor.h include/tailor/methods.h lib/pkgconfig/tailor.pc bin/tailor share/man/man1/tailor.1; do
    check "installed $f" "[ -f '$root$prefix/$f' ]"
done
check "libtailor.so -> libtailor.so.0 -> libtailor.so.$version" \
    "[ \"\$(readlink $lib/libtailor.so)\" = libtailor.so.0 ] && [ \"\$(readlink $lib/libtailor.so.0)\" = libtailor.so.$version ]"
check "soname libtailor.so.0" "readelf -d $lib/libtailor.so.$version | grep -q 'SONAME.*\[libtailor.so.0\]'"
# Exactly the functions the header marks TL_API are exported (sanitizer builds add their own hooks).
cat include/tailor.h include/tailor/*.h | grep -o '^TL_API [^(]*(' | sed 's/.*[ *]\([a-z_0-9]*\)($/\1/' | sort >"$tmp/declared"
nm -D --defined-only "$lib/libtailor.so.$version" | awk '$2 == "T" {print $3}' | grep '^tl_' | sort >"$tmp/exported"
check "exports = the header's TL_API functions ($(wc -l <"$tmp/declared"))" "diff $tmp/declared $tmp/exported"
check "no other tl_ symbol is visible" "! nm -D --defined-only $lib/libtailor.so.$version | awk '{print \$3}' | grep '^tl_' | grep -vxF -f $tmp/declared -q"
pc() { pkg-config --define-variable=prefix="$root$prefix" "$@" tailor; }
export PKG_CONFIG_PATH=$lib/pkgconfig
check "pkg-config --modversion = $version" "[ \"\$(pkg-config --modversion tailor)\" = $version ]"
check "pkg-config --cflags names the installed include folder only" "[ \"\$(pc --cflags | xargs)\" = '-I$inc' ]"
sanflags=; [ -n "$san" ] && sanflags="-fsanitize=address,undefined"
check "the example builds against the installed library" \
    "cc -std=c11 -Wall -Wextra -Werror $sanflags examples/train_arrays.c \$(pc --cflags --libs) -lm -o $tmp/ex 2>$tmp/cc.log || { cat $tmp/cc.log; false; }"
check "the example builds statically" \
    "cc -std=c11 -Wall -Wextra -Werror $sanflags -I$inc examples/train_arrays.c $lib/libtailor.a \$(pc --static --libs-only-l | sed 's/-ltailor//') -o $tmp/ex_static 2>$tmp/cc.log || { cat $tmp/cc.log; false; }"
LD_LIBRARY_PATH=$lib "$tmp/ex" >"$tmp/ex.out" 2>"$tmp/ex.err"
rc=$?
check "the example runs (exit $rc)" "[ $rc -eq 0 ] && grep -q '^libtailor $version' $tmp/ex.out"
check "it loaded the installed library" "LD_LIBRARY_PATH=$lib ldd $tmp/ex | grep -q '$lib/libtailor.so.0'"
check "it reports both losses" "grep -c 'balanced accuracy' $tmp/ex.out | grep -qx 2"
"$tmp/ex_static" >"$tmp/ex_static.out" 2>/dev/null
check "static and shared builds print the same" "cmp -s $tmp/ex.out $tmp/ex_static.out"
# README's C lines compile against the installed header (inside a function that gives them their arrays).
awk '/^## From C/ { u = 1 } u && /^```c/ { b = 1; next } b && /^```/ { exit } b' README.md >"$tmp/readme_block.c"
{ grep '^#include' "$tmp/readme_block.c"
  echo 'void readme(const float *x, const int *y, int n, const float *xnew, int m, float *probs, int *labels);'
  echo 'void readme(const float *x, const int *y, int n, const float *xnew, int m, float *probs, int *labels) {'
  grep -v '^#include' "$tmp/readme_block.c"; echo '}'; } >"$tmp/readme.c"
check "README's C block compiles against the installed header" \
    "[ \$(wc -l <$tmp/readme_block.c) -ge 8 ] && cc -std=c11 -Wall -Wextra -Werror -Wno-unused-variable -fsyntax-only -I$inc $tmp/readme.c 2>$tmp/readme.err || { cat $tmp/readme.err; false; }"
# The Python package, from the installed copy alone (not the source tree's, not $TAILOR_LIB): it loads
# the installed library and trains and predicts.
pydir=$root$prefix/lib/python3/dist-packages
check "installed the Python package" "[ -f $pydir/tailor/__init__.py ] && [ -f $pydir/tailor/_install.py ]"
cat >"$tmp/use.py" <<'PYEOF'
import numpy as np, os, sys, tailor
x = np.random.RandomState(0).randn(90, 4).astype(np.float32); y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 1)
m = tailor.train(tailor.Dataset(x, y), model="mlp", hidden=8, epochs=2, batch=30, threads=1)
assert m.predict(x).shape == (90,) and sys.modules["tailor._lib"].lib._name == os.path.join(sys.argv[1], "libtailor.so.0")
PYEOF
# The sanitizer build's library needs the ASan runtime loaded first, as tests/run.sh gives tests/python.
pyenv=
[ -n "$san" ] && pyenv="LD_PRELOAD=$(${CC:-cc} -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0"
check "python3 imports the installed package, which loads the installed library, and trains and predicts" \
    "(cd $tmp && env -u TAILOR_LIB $pyenv PYTHONPATH=$pydir '$PY' use.py $lib >$tmp/py.log 2>&1) || { cat $tmp/py.log; false; }"
check "the installed command runs" "[ \"\$($root$prefix/bin/tailor --version)\" = 'tailor $version' ]"
check "the man page renders without warnings" \
    "MANWIDTH=80 man -l $root$prefix/share/man/man1/tailor.1 2>$tmp/man.err | grep -q 'tailor retrain --run DIR' && [ ! -s $tmp/man.err ]"
finish
