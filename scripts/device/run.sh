#!/usr/bin/env bash
# Device call 2 of scripts/device/prepare: SmolLM2 on the H200 through the built-in llama.cpp recipe and
# through the llama-template engine; GPU facts (NVML, VRAM fit, energy); then
# alternating short launches of both until AB_END seconds, and compare.
set -uo pipefail
. .dev2/pins.sh
S=/tmp/stage
[ -x "$S/llama.cpp/build/bin/llama-server" ] || { echo "stage lost: run .dev/stage.sh again"; exit 3; }
cat "$S/model.a" .dev2/model.b > "$S/smollm2-135m-instruct-q4_1.gguf"
echo "$MODEL_SHA256  $S/smollm2-135m-instruct-q4_1.gguf" | sha256sum -c || exit 4
export TOKBENCH_LLAMA_SERVER="$S/llama.cpp/build/bin/llama-server"
export PATH="$S/llama.cpp/build/bin:$S:$PATH"
M="$S/smollm2-135m-instruct-q4_1.gguf"; R="$S/runs"; T="$S/tokbench"
AB_END="${AB_END:-430}"
full() { # $1 side dir, rest extra
  local d="$1"; shift
  "$T" run "$M" --shape chat -c 1,4 -n "${N_FULL:-20}" --seed 7 --no-progress --runs-dir "$R/$d" "$@" > "$R/$d.log" 2>&1
  echo "== $d rc=$? at ${SECONDS}s"; tail -25 "$R/$d.log"
}
mkdir -p "$R"
nvidia-smi --query-gpu=memory.used,power.draw --format=csv
full gpu-builtin
full gpu-template --backend-file examples/engines.yaml --engine llama-template
for f in "$R"/gpu-builtin/*.yaml "$R"/gpu-template/*.yaml; do
  echo "=== $f"; python3 -c '
import sys, yaml, json
r = yaml.safe_load(open(sys.argv[1]))
s = r.get("system", {}); b = r.get("backend", {})
print("gpus", json.dumps(s.get("gpus"), default=str)[:1500]); print("gpu_notes", s.get("gpu_notes"))
print("backend", json.dumps({k: b.get(k) for k in ("name", "version", "device", "launch_command", "build_info", "load_time", "ctx_size", "flags")}, default=str)[:1200])
print("resources", json.dumps(r.get("resources"), default=str)[:2500])
print("roofline", json.dumps(r.get("roofline"), default=str)[:1200])
print("flags", r.get("run", {}).get("flags"), "notes", r.get("run", {}).get("notes"))
for c in r.get("cells", []):
    m = c.get("metrics", {})
    print("cell", c.get("shape"), c.get("concurrency"), {k: (m.get(k) or {}).get("median") for k in ("ttft_ms", "decode_tok_s", "server_decode_tok_s", "prefill_tok_s", "tpot_ms")}, "j/tok", c.get("j_per_output_token"), c.get("flags"))
' "$f"
done
i=0
while [ "$SECONDS" -lt "$AB_END" ]; do
  i=$((i+1))
  for side in builtin template; do
    extra=(); [ "$side" = template ] && extra=(--backend-file examples/engines.yaml --engine llama-template)
    "$T" run "$M" --shape chat -c 1 --threads 4 -n 10 --scale 0.25 --seed 7 --no-bandwidth --no-progress \
      --runs-dir "$R/ab-$side" "${extra[@]}" > "$R/ab-$side-$i.log" 2>&1 || echo "ab $side $i failed: $(tail -3 "$R/ab-$side-$i.log")"
  done
done
echo "ab launches a side: $i (at ${SECONDS}s)"
"$T" compare "$R/ab-builtin" "$R/ab-template" 2>&1
"$T" compare --paired "$R/ab-builtin" "$R/ab-template" 2>&1
"$T" compare "$R/gpu-builtin" "$R/gpu-template" 2>&1 | head -40
tar czf "$OUT/runs.tar.gz" -C "$S" runs
echo "done at ${SECONDS}s"
