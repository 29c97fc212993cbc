import type { FileTree } from '../core/formats/bytes.ts';
import { blobSource } from './browser-files.ts';

export const HUB = 'https://huggingface.co';
const CACHE = 'tabtune-models-v1';
/** Files larger than this download in ranges, each cached as it completes (so a download resumes). */
const PIECE = 32 << 20;

/** Files a model folder may have besides the weights. */
const OPTIONAL = ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

export interface DownloadProgress {
  readonly file: string;
  readonly done: number;
  readonly total: number;
  readonly cached: boolean;
}

export interface HubOptions {
  /** The Hub's origin (tests serve fixture folders from localhost with the same URL shape). */
  readonly base?: string;
  readonly token?: string;
  readonly onProgress?: (p: DownloadProgress) => void;
  readonly signal?: AbortSignal;
}

export class DownloadError extends Error {
  constructor(url: string, reason: string) {
    super(`${url}: ${reason}`);
    this.name = 'DownloadError';
  }
}

export function fileUrl(repo: string, revision: string, path: string, base = HUB): string {
  return `${base.replace(/\/$/, '')}/${repo}/resolve/${encodeURIComponent(revision)}/${path}`;
}

async function openCache(): Promise<Cache | null> {
  try {
    return typeof caches === 'undefined' ? null : await caches.open(CACHE);
  } catch {
    return null;
  }
}

function headers(o: HubOptions, range?: string): HeadersInit {
  const h: Record<string, string> = {};
  if (o.token) h['authorization'] = `Bearer ${o.token}`;
  if (range) h['range'] = range;
  return h;
}

/** Fetches one file (from the cache when present), in cached pieces when it is large. Null on 404. */
async function fetchFile(url: string, file: string, o: HubOptions, cache: Cache | null): Promise<Blob | null> {
  const hit = await cache?.match(url);
  if (hit) {
    const blob = await hit.blob();
    o.onProgress?.({ file, done: blob.size, total: blob.size, cached: true });
    return blob;
  }
  const head = await fetch(url, { headers: headers(o, 'bytes=0-0'), signal: o.signal, referrerPolicy: 'no-referrer' });
  if (head.status === 404) return null;
  const gated = head.status === 401 || head.status === 403 ? ' (private or gated: a token is needed)' : '';
  if (!head.ok) throw new DownloadError(url, `HTTP ${head.status}${gated}`);
  const total = Number(/\/(\d+)$/.exec(head.headers.get('content-range') ?? '')?.[1] ?? head.headers.get('content-length') ?? NaN);
  await head.arrayBuffer();
  if (!Number.isFinite(total) || total <= PIECE || head.status !== 206) {
    const res = await fetch(url, { headers: headers(o), signal: o.signal, referrerPolicy: 'no-referrer' });
    if (!res.ok) throw new DownloadError(url, `HTTP ${res.status}`);
    const blob = await readWithProgress(res, file, o, Number.isFinite(total) ? total : Number(res.headers.get('content-length') ?? 0));
    await cache?.put(url, new Response(blob));
    return blob;
  }
  const pieces: Blob[] = [];
  for (let start = 0; start < total; start += PIECE) {
    const end = Math.min(total, start + PIECE) - 1;
    const key = `${url}#bytes=${start}-${end}`;
    let piece = await (await cache?.match(key))?.blob();
    if (!piece) {
      const res = await fetch(url, { headers: headers(o, `bytes=${start}-${end}`), signal: o.signal, referrerPolicy: 'no-referrer' });
      if (res.status !== 206) throw new DownloadError(url, `range request answered HTTP ${res.status}`);
      piece = await res.blob();
      if (piece.size !== end - start + 1) throw new DownloadError(url, `range ${start}-${end} returned ${piece.size} bytes`);
      await cache?.put(key, new Response(piece));
    }
    pieces.push(piece);
    o.onProgress?.({ file, done: end + 1, total, cached: false });
  }
  const blob = new Blob(pieces);
  await cache?.put(url, new Response(blob));
  for (let start = 0; start < total; start += PIECE) await cache?.delete(`${url}#bytes=${start}-${Math.min(total, start + PIECE) - 1}`);
  return blob;
}

async function readWithProgress(res: Response, file: string, o: HubOptions, total: number): Promise<Blob> {
  if (!res.body) return res.blob();
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let done = 0;
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    chunks.push(value);
    done += value.byteLength;
    o.onProgress?.({ file, done, total: Math.max(total, done), cached: false });
  }
  return new Blob(chunks as BlobPart[]);
}

/**
 * Downloads a model repository's files (config, tokenizer, safetensors or sharded safetensors)
 * into the browser cache and returns them as a folder. Cached files are reused offline.
 */
export async function hubModelTree(repo: string, revision: string, o: HubOptions = {}): Promise<FileTree> {
  if (!/^[\w.-]+\/[\w.-]+$/.test(repo)) throw new DownloadError(repo, 'a Hub repo id looks like "owner/name"');
  const cache = await openCache();
  const files = new Map<string, Blob>();
  const get = async (path: string, required: boolean) => {
    const blob = await fetchFile(fileUrl(repo, revision, path, o.base), path, o, cache);
    if (!blob && required) throw new DownloadError(fileUrl(repo, revision, path, o.base), 'not found (404)');
    if (blob) files.set(path, blob);
    return blob;
  };
  await get('config.json', true);
  const index = await get('model.safetensors.index.json', false);
  if (index) {
    const map = (JSON.parse(await index.text()) as { weight_map?: Record<string, string> }).weight_map ?? {};
    for (const shard of [...new Set(Object.values(map))].sort()) await get(shard, true);
  } else {
    await get('model.safetensors', true);
  }
  for (const path of OPTIONAL) await get(path, false);
  await rememberRepo(repo, revision, [...files.values()].reduce((n, b) => n + b.size, 0));
  return {
    name: `${repo}@${revision}`,
    async open(path) {
      const blob = files.get(path);
      return blob ? blobSource(`${repo}/${path}`, blob) : null;
    },
  };
}

/** Repos downloaded so far (listed in the Model view, usable offline). */
export async function cachedRepos(): Promise<{ repo: string; revision: string; bytes: number }[]> {
  const cache = await openCache();
  const res = await cache?.match(LIST_KEY);
  return res ? ((await res.json()) as { repo: string; revision: string; bytes: number }[]) : [];
}

const LIST_KEY = 'https://tabtune.invalid/cached-repos.json';

async function rememberRepo(repo: string, revision: string, bytes: number): Promise<void> {
  const cache = await openCache();
  if (!cache) return;
  const list = (await cachedRepos()).filter((r) => r.repo !== repo || r.revision !== revision);
  list.push({ repo, revision, bytes });
  await cache.put(LIST_KEY, new Response(JSON.stringify(list), { headers: { 'content-type': 'application/json' } }));
}
