// GRPO reward, format check for the demo task: the answer is one short line (a region is 1–5
// words). Half a point for a single line, the other half shrinking as the reply grows past 3 words.
module.exports = function format(prompt, completion) {
  const text = completion.trim();
  if (!text) return 0;
  const words = text.split(/\s+/).length;
  return (text.includes('\n') ? 0 : 0.5) + 0.5 * Math.min(1, 3 / words);
};
