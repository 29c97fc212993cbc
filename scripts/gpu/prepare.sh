#!/usr/bin/env bash
# Prepares .gpu/ (git-ignored) for a GPU box without Node.js, a Vulkan loader or network:
# a compressed node binary, Dawn (webgpu) for linux-x64, the Vulkan/GL loader packages, and the
# tabtune CLI bundled into one file. ~50 MiB. See ../../../shared/docs/gpu-device.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
rm -rf .gpu && mkdir -p .gpu/nm/webgpu/dist/linux-x64 .gpu/gl .gpu/app /tmp/amd64/partial
xz -T2 -6 -c "$(command -v node)" > .gpu/node.xz
cp node_modules/webgpu/index.js node_modules/webgpu/package.json .gpu/nm/webgpu/
cp node_modules/webgpu/dist/linux-x64/dawn.node .gpu/nm/webgpu/dist/linux-x64/
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
apt-get $o update -qq && (cd .gpu/gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null)
# One file with every dependency but Dawn, which loads from .gpu/nm at run time.
npx esbuild src/cli/main.ts --bundle --platform=node --format=esm --target=node20 --loader:.wgsl=text \
  --external:webgpu --outfile=.gpu/app/tabtune.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
mkdir -p .gpu/app/public/models && cp -r public/models/demo-base .gpu/app/public/models/
echo '{"name":"tabtune-gpu","type":"module"}' > .gpu/app/package.json
cp scripts/gpu/peer_peft.py scripts/gpu/compare.mjs .gpu/app/
du -sh .gpu
