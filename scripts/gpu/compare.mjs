// Side-by-side ratios of tabtune's bench and the PyTorch + PEFT peer (same GPU, same run).
import { existsSync, readFileSync } from 'node:fs';

const read = (f) => (existsSync(f) ? readFileSync(f, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)) : []);
const [ours, peer] = [read(process.argv[2]), read(process.argv[3])];
const TARGETS = { 'smollm2-135m:1': 2, 'smollm2-135m:8': 2, 'gpt2:8': 1, 'qwen2.5-0.5b:8': 1 };
const adapter = ours.find((l) => l.bench === 'adapter');
console.log(`adapter: ${adapter?.adapter ?? '?'}`);
const mm = ours.find((l) => l.bench === 'matmul' && l.shape === 'square 4096');
if (mm) console.log(`f32 matmul 4096³: ${(mm.gflops / 1000).toFixed(1)} TFLOP/s (target ≥ 40; a plain 128×128 tile: 28.7)`);
for (const t of ours.filter((l) => l.bench === 'train' && l.model !== 'demo')) {
  const p = peer.find((x) => x.model === t.model && x.batch === t.batch && x.peer?.endsWith('bf16'));
  const ratio = p ? t.tokens_per_s / p.tokens_per_s : null;
  const target = TARGETS[`${t.model}:${t.batch}`];
  console.log(`${t.model} ${t.batch}x${t.seq}: tabtune ${t.tokens_per_s.toFixed(0)} tok/s, ${t.peak_mib.toFixed(0)} MiB` +
    (p ? ` | peer ${p.tokens_per_s.toFixed(0)} tok/s, ${p.peak_mib.toFixed(0)} MiB | ratio ${ratio.toFixed(2)}×${target ? ` (target ≥ ${target}×)` : ''}` : ' | no peer figure'));
}
