/** The preference metrics a step reports, as TRL names them, and the series the reward charts draw. */
export const REWARD_METRICS = {
  rewardsChosen: 'rewards/chosen',
  rewardsRejected: 'rewards/rejected',
  rewardsAccuracies: 'rewards/accuracies',
  rewardsMargins: 'rewards/margins',
  // GRPO (TRL GRPOTrainer): the mean and spread of the reward over each step's completions, and KL to the reference.
  reward: 'reward',
  rewardStd: 'reward_std',
  kl: 'kl',
} as const;

export type RewardSeries = { [K in keyof typeof REWARD_METRICS]: (number | null)[] };

export const emptyRewards = (): RewardSeries => ({
  rewardsChosen: [], rewardsRejected: [], rewardsAccuracies: [], rewardsMargins: [], reward: [], rewardStd: [], kl: [],
});

/** One point per step: the step's metric, or null (SFT steps and evaluations have none). */
export function pushRewards(s: RewardSeries, metrics: Readonly<Record<string, number>> | undefined | null): void {
  for (const [k, name] of Object.entries(REWARD_METRICS) as [keyof RewardSeries, string][]) {
    const v = metrics?.[name];
    s[k].push(v === undefined || !Number.isFinite(v) ? null : v);
  }
}

export function hasRewards(s: RewardSeries): boolean {
  return s.rewardsMargins.some((v) => v !== null);
}

export function hasGrpoRewards(s: RewardSeries): boolean {
  return s.reward.some((v) => v !== null);
}
