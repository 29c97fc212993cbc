/**
 * Feedback from the serving log as preference data, in TRL's dataset formats:
 *   preference (DPO and friends): {prompt, chosen, rejected}: a preferred answer against the
 *     model's answer, and, for one prompt, each well-rated answer against each badly-rated one;
 *   unpaired (KTO): {prompt, completion, label}: every rated answer, and preferred answers as
 *     good ones.
 * Chat prompts stay conversational (a list of messages; answers are one assistant message).
 */
import type { FeedbackRecord } from './monitor.ts';

type Prompt = FeedbackRecord['prompt'];
type Answer = string | { role: 'assistant'; content: string }[];

export interface PreferencePair { prompt: Prompt; chosen: Answer; rejected: Answer }
export interface KtoExample { prompt: Prompt; completion: Answer; label: boolean }

/** The last word on each response: later feedback for the same id replaces earlier fields it sets. */
function latest(records: readonly FeedbackRecord[]): FeedbackRecord[] {
  const byId = new Map<string, FeedbackRecord>();
  for (const r of records) {
    const prev = byId.get(r.id);
    byId.set(r.id, prev ? { ...prev, rating: r.rating ?? prev.rating, preferred: r.preferred ?? prev.preferred } : r);
  }
  return [...byId.values()];
}

function answer(prompt: Prompt, text: string): Answer {
  return typeof prompt === 'string' ? text : [{ role: 'assistant', content: text }];
}

export function preferencePairs(records: readonly FeedbackRecord[], maxPairsPerPrompt = 16): PreferencePair[] {
  const out: PreferencePair[] = [];
  const byPrompt = new Map<string, FeedbackRecord[]>();
  for (const r of latest(records)) {
    if (r.preferred !== null && r.preferred !== r.completion) {
      out.push({ prompt: r.prompt, chosen: answer(r.prompt, r.preferred), rejected: answer(r.prompt, r.completion) });
    }
    const key = JSON.stringify(r.prompt);
    byPrompt.set(key, [...(byPrompt.get(key) ?? []), r]);
  }
  for (const group of byPrompt.values()) {
    const good = group.filter((r) => (r.rating ?? 0) > 0);
    const bad = group.filter((r) => (r.rating ?? 0) < 0);
    let n = 0;
    for (const g of good) {
      for (const b of bad) {
        if (n++ >= maxPairsPerPrompt || g.completion === b.completion) continue;
        out.push({ prompt: g.prompt, chosen: answer(g.prompt, g.completion), rejected: answer(b.prompt, b.completion) });
      }
    }
  }
  return out;
}

export function ktoExamples(records: readonly FeedbackRecord[]): KtoExample[] {
  const out: KtoExample[] = [];
  for (const r of latest(records)) {
    const rating = r.rating ?? (r.preferred !== null ? -1 : 0);
    if (rating !== 0) out.push({ prompt: r.prompt, completion: answer(r.prompt, r.completion), label: rating > 0 });
    if (r.preferred !== null) out.push({ prompt: r.prompt, completion: answer(r.prompt, r.preferred), label: true });
  }
  return out;
}
