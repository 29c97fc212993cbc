/**
 * Where Hugging Face downloads come from. `?hub=<origin>` in the page URL (tests serve fixture
 * repos under the Hub's URL shape from localhost) or a mirror saved in the Model view; the Worker
 * fetches `${base}/${repo}/resolve/${revision}/${path}`. Absent: https://huggingface.co.
 */
const KEY = 'tabtune.hubBase';
export const DEFAULT_HUB = 'https://huggingface.co';

function clean(url: string | null | undefined): string | undefined {
  const u = url?.trim().replace(/\/+$/, '');
  if (!u) return undefined;
  try {
    const parsed = new URL(u);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? u : undefined;
  } catch {
    return undefined;
  }
}

export function initialHubBase(): string | undefined {
  const fromQuery = clean(new URLSearchParams(location.search).get('hub'));
  if (fromQuery) return fromQuery;
  try {
    return clean(localStorage.getItem(KEY));
  } catch {
    return undefined;
  }
}

export function saveHubBase(url: string | undefined): string | undefined {
  const c = clean(url);
  try {
    if (c && c !== DEFAULT_HUB) localStorage.setItem(KEY, c);
    else localStorage.removeItem(KEY);
  } catch {
    /* private mode: keep it for this page only */
  }
  return c === DEFAULT_HUB ? undefined : c;
}
