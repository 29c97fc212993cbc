#!/usr/bin/env bash
# Runs on the GPU box (see prepare.sh): tabtune's bench and the PyTorch + PEFT peer on the same
# shapes (LoRA r=16 on all linear layers, AdamW, sequence 256, batch 1 and 8), then the ratios.
# Results: $OUT (or ./gpu-results) as JSON lines. Usage: bash scripts/gpu/run.sh [models]
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/gpu-results}
MODELS=${1:-smollm2-135m,gpt2,qwen2.5-0.5b}
mkdir -p "$OUT"
if ! command -v node >/dev/null; then
  for f in .gpu/gl/*.deb; do dpkg -x "$f" /; done; ldconfig
  xz -dc .gpu/node.xz > /tmp/node && chmod +x /tmp/node
  NODE=/tmp/node
else
  NODE=node
fi
mkdir -p .gpu/app/node_modules && cp -r .gpu/nm/webgpu .gpu/app/node_modules/ 2>/dev/null
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
APP=.gpu/app
echo "== tabtune bench ($MODELS)"
timeout 420 "$NODE" $APP/tabtune.mjs bench --models "demo,$MODELS" --batches 1,8 --big --fast > "$OUT/tabtune.jsonl" 2> "$OUT/tabtune.log"
tail -n 30 "$OUT/tabtune.log"
echo "== PyTorch + PEFT peer"
if python3 -c 'import torch, peft, transformers' 2>/dev/null; then
  timeout 300 python3 $APP/peer_peft.py --models "$MODELS" --dirs "$APP/.tabtune/bench-models" > "$OUT/peer.jsonl" 2> "$OUT/peer.log"
  tail -n 20 "$OUT/peer.log"
else
  echo "no torch/peft here: peer skipped" | tee "$OUT/peer.log"
fi
echo "== ratios"
"$NODE" $APP/compare.mjs "$OUT/tabtune.jsonl" "$OUT/peer.jsonl" | tee "$OUT/ratios.txt"
