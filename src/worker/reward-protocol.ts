/** Messages between a reward sandbox client and its dedicated Worker (reward-worker.ts). */

export type RewardRequest =
  | { readonly type: 'load'; readonly id: number; readonly name: string; readonly source: string }
  | {
    readonly type: 'call'; readonly id: number; readonly name: string;
    readonly prompt: string; readonly completion: string; readonly fields: string;
  };

/** `value` for a number; `reason` for anything else (the words finish "reward function F on completion N …"). */
export type RewardReply =
  /** Sent once, when the Worker is locked down and listening: time limits start from here. */
  | { readonly ready: true }
  | { readonly id: number; readonly names: readonly string[] }
  | { readonly id: number; readonly value: number }
  | { readonly id: number; readonly reason: string };
