/**
 * Checks a Hugging Face repository id before anything is fetched, with the Hub's own rules
 * (huggingface_hub's validate_repo_id): `owner/name`, letters, digits, `-`, `_` and `.`, neither
 * part starting or ending with `-` or `.`, no `--` or `..`, no `.git` ending, a name of at most 96
 * characters. Returns why it is not valid, or null.
 */
const PART = /^[A-Za-z0-9_.-]+$/;

function partProblem(part: string, what: 'owner' | 'name'): string | null {
  if (!part) return `the ${what} is empty`;
  if (!PART.test(part)) {
    const bad = [...new Set([...part].filter((c) => !/[A-Za-z0-9_.-]/.test(c)))].map((c) => (c === ' ' ? 'a space' : `“${c}”`));
    return `the ${what} may hold only letters, digits, “-”, “_” and “.” (not ${bad.join(', ')})`;
  }
  if (/^[-.]|[-.]$/.test(part)) return `the ${what} cannot start or end with “-” or “.”`;
  if (part.includes('--') || part.includes('..')) return `the ${what} cannot contain “--” or “..”`;
  if (what === 'name' && part.length > 96) return `the name is ${part.length} characters long; the Hub allows 96`;
  return null;
}

export function hubRepoProblem(input: string): string | null {
  const repo = input.trim();
  if (!repo) return 'type a repository as owner/name';
  if (/^https?:\/\//i.test(repo)) return 'type the repository id (owner/name), not its web address';
  const parts = repo.split('/');
  if (parts.length !== 2) return parts.length < 2 ? 'add the owner: owner/name, e.g. Qwen/Qwen2.5-0.5B' : 'use exactly one “/” between owner and name';
  const problem = partProblem(parts[0]!, 'owner') ?? partProblem(parts[1]!, 'name');
  if (problem) return problem;
  if (parts[1]!.endsWith('.git')) return 'the name cannot end with “.git”';
  return null;
}
