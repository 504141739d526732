#!/usr/bin/env bash
# Set up framescore on a fresh machine: system libraries (FluidSynth, a General MIDI soundfont), then .venv.
# Idempotent: installs only what is missing. Run by `make setup` (and so by `make demo` and `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."

have_fluidsynth() { ldconfig -p 2>/dev/null | grep 'libfluidsynth\.so' >/dev/null; }  # no -q: with pipefail, an early exit would SIGPIPE ldconfig
have_soundfont() {
  [ -n "${FRAMESCORE_SOUNDFONT:-}" ] && [ -f "$FRAMESCORE_SOUNDFONT" ] && return 0
  for f in /usr/share/sounds/sf2/*.sf2 /usr/share/soundfonts/*.sf2; do [ -f "$f" ] && return 0; done
  return 1
}

if ! have_fluidsynth || ! have_soundfont; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing FluidSynth and a General MIDI soundfont (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libfluidsynth3 fluid-soundfont-gm >/dev/null
  else
    echo "setup: FluidSynth or a General MIDI soundfont is missing. Install them, then run make again:" >&2
    echo "  sudo apt-get install libfluidsynth3 fluid-soundfont-gm     (Debian/Ubuntu)" >&2
    echo "  brew install fluid-synth  and set FRAMESCORE_SOUNDFONT=/path/to/GM.sf2    (macOS)" >&2
    exit 1
  fi
fi

# The studio's browser test drives Debian's chromium with its chromium-driver (installed the same way).
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "setup: installing chromium and chromium-driver for the studio's browser test (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "setup: chromium and chromium-driver are missing: the studio's browser test will be skipped" >&2
    echo "  sudo apt-get install chromium chromium-driver     (Debian/Ubuntu)" >&2
  fi
fi

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: framescore needs Python 3.11 or newer (found $("$PY" --version 2>&1))" >&2; exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The CPU build of torch first, pinned: an unpinned torch would pull a CUDA build of several GB.
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e '.[dev]'
echo "setup: done (.venv ready)"
