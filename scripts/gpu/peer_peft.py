"""PyTorch + PEFT peer for tabtune's bench: the same model shapes (random weights read from the
same folders tabtune made with `tabtune init`), LoRA r=16 on all linear layers, AdamW, sequence
256, batch 1 and 8. Prints one JSON line per shape, as tabtune's bench does."""
import argparse, json, os, sys, time

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoConfig, AutoModelForCausalLM


def bench(path, name, batch, seq, steps, dtype):
    cfg = AutoConfig.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch.float32).cuda()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.0, target_modules="all-linear", task_type="CAUSAL_LM"))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, cfg.vocab_size, (batch, seq), device="cuda")
    torch.cuda.reset_peak_memory_stats()

    def step():
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == "bf16"):
            loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    torch.cuda.synchronize()
    ms = (time.perf_counter() - t0) / steps * 1000
    out = {"bench": "train", "peer": f"pytorch+peft {dtype}", "model": name, "batch": batch, "seq": seq, "ms_per_step": ms,
           "tokens_per_s": batch * seq / (ms / 1000), "peak_mib": torch.cuda.max_memory_allocated() / 2**20}
    del model, opt
    torch.cuda.empty_cache()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="smollm2-135m,gpt2,qwen2.5-0.5b")
    ap.add_argument("--dirs", default=".tabtune/bench-models")
    ap.add_argument("--steps", type=int, default=10)
    a = ap.parse_args()
    for name in a.models.split(","):
        path = os.path.join(a.dirs, name)
        if not os.path.exists(os.path.join(path, "config.json")):
            print(f"{path}: missing (run tabtune's bench first, it makes the folders)", file=sys.stderr)
            continue
        for batch in (1, 8):
            for dtype in ("bf16", "fp32"):
                r = bench(path, name, batch, 256, a.steps, dtype)
                print(json.dumps(r), flush=True)
                print(f"peer {name} {batch}x256 {dtype}: {r['tokens_per_s']:.0f} tokens/s, {r['peak_mib']:.0f} MiB", file=sys.stderr)


if __name__ == "__main__":
    main()
