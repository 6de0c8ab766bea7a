#!/bin/sh
# Make sure VENV is a virtual environment of PYTHON with the project installed (editable, with the
# test extras), building or rebuilding it only when needed:
# - VENV/.python records which interpreter built it; another interpreter rebuilds it from scratch;
# - VENV/.installed is newer than setup.cfg and pyproject.toml after a good install.
#   venv.sh PYTHON VENV        (PYTHON as make got it: a name, a path, or empty for the newest)
set -eu
here=$(dirname "$0")
venv=${2:-.venv}
python=$(sh "$here/find-python.sh" ${1:+"$1"}) || exit 1
identity="$python $("$python" -c 'import sys; print(".".join(map(str, sys.version_info[:3])))')"
if [ -d "$venv" ] && [ "$(cat "$venv/.python" 2>/dev/null)" != "$identity" ]; then
    echo "$venv was built by $(cat "$venv/.python" 2>/dev/null || echo 'an unknown Python'); rebuilding it with $identity"
    rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv with $identity"
    "$python" -m venv "$venv"
    echo "$identity" > "$venv/.python"
fi
stamp="$venv/.installed"
if [ ! -f "$stamp" ] || [ setup.cfg -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$venv/bin/python" -m pip install -q --upgrade pip
    "$venv/bin/python" -m pip install -q -e '.[test]'
    touch "$stamp"
fi
