// GRPO reward, exact answer on the demo task: 1 when the reply is the region the passage names
// (the record's "answer" column), 0.5 when the reply contains it among other words, else 0.
module.exports = function exact_answer(prompt, completion, fields) {
  const reply = completion.trim();
  const answer = String(fields.answer ?? '');
  if (!answer) return 0;
  if (reply === answer) return 1;
  return reply.includes(answer) ? 0.5 : 0;
};
