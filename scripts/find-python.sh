#!/bin/sh
# Print the path of a Python that ocpp-soap supports and that actually runs.
#
#   find-python.sh            the newest of python3.13, python3.12, python3.11
#   find-python.sh NAME       that interpreter (a name on PATH or a path)
#
# A name on PATH may be a pyenv shim that only says "command not found" until its version is
# selected, so each candidate is run, not just looked up. A pythonX.Y that does not run falls back
# to $(pyenv root)/versions/X.Y*/bin/pythonX.Y, newest first. Prints nothing and exits 1 when none
# works, after one line on stderr naming the versions that do.
SUPPORTED="3.13 3.12 3.11"

runs() {
    # The interpreter starts and is a supported version.
    "$1" -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] <= (3, 13) else 1)' \
        >/dev/null 2>&1
}

resolve() {
    name=$1
    if command -v "$name" >/dev/null 2>&1 && runs "$name"; then
        # An absolute path, so a later change of pyenv's selection cannot swap it.
        "$name" -c 'import sys; print(sys.executable)'
        return 0
    fi
    case "$name" in
        */*) return 1 ;;
    esac
    version=$(printf '%s\n' "$name" | sed -n 's/^python\([0-9][0-9]*\.[0-9][0-9]*\)$/\1/p')
    [ -n "$version" ] || return 1
    root=""
    command -v pyenv >/dev/null 2>&1 && root=$(pyenv root 2>/dev/null)
    [ -n "$root" ] || root=${PYENV_ROOT:-$HOME/.pyenv}
    for candidate in $(ls -d "$root"/versions/"$version"* 2>/dev/null | sort -rV); do
        if [ -x "$candidate/bin/$name" ] && runs "$candidate/bin/$name"; then
            echo "$candidate/bin/$name"
            return 0
        fi
    done
    return 1
}

if [ -n "${1:-}" ]; then
    resolve "$1" && exit 0
    echo "$1 does not run here; ocpp-soap runs on Python $(echo "$SUPPORTED" | sed 's/ /, /g') (make ... PYTHON=python3.X)" >&2
    exit 1
fi
for version in $SUPPORTED; do
    resolve "python$version" && exit 0
done
echo "no supported Python found: ocpp-soap needs Python 3.13, 3.12 or 3.11 (python3.X on PATH or under pyenv)" >&2
exit 1
