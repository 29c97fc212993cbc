/** What each evaluation and training number means, in plain words, and what "better" looks like. */
export const METRIC_WORDS = {
  perplexity: 'How many tokens the model hesitates between, on average, at each word of the answers. Lower is better; 1 would mean certain.',
  loss: 'Average surprise per answer token (nats; perplexity is e to this power). Lower is better.',
  promptPerplexity: 'How well it predicts the questions themselves. Training on answers often leaves this alone.',
  exactMatch: 'Generated answers identical to the reference (case and final punctuation ignored). Higher is better.',
  contains: 'Generated answers that include the reference somewhere. Higher is better.',
  meanLogprob: 'How sure it was of the words it generated; closer to 0 is surer.',
  meanEntropy: 'How spread its choices were at each token; lower is more decided.',
  tokens: 'Answer tokens scored: more makes the figures steadier.',
  trainLoss: 'How surprised the model is by the next token of this batch. It should fall; a jumpy curve is normal.',
  valLoss: 'The same on examples it never trains on. If it rises while the training loss falls, the model is memorising.',
} as const;
