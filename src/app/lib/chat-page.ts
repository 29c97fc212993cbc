/**
 * The chat page's built files, fetched from the app's own origin (listed in chat-page.json at
 * build time) for the Worker to zip with a run's merged model. chat.html becomes index.html, and
 * its root-relative links become relative so the page runs from any folder.
 */
export async function chatPageFiles(): Promise<Record<string, Uint8Array>> {
  const at = (path: string) => new URL(path, document.baseURI);
  const res = await fetch(at('chat-page.json'));
  if (!res.ok) throw new Error(`chat-page.json: HTTP ${res.status} (the chat page is part of the built app, not the dev server)`);
  const { files } = (await res.json()) as { files: string[] };
  const out: Record<string, Uint8Array> = {};
  for (const f of files) {
    const r = await fetch(at(f));
    if (!r.ok) throw new Error(`${f}: HTTP ${r.status}`);
    const bytes = new Uint8Array(await r.arrayBuffer());
    if (f === 'chat.html') {
      const html = new TextDecoder().decode(bytes).replace(/(src|href)="\/assets\//g, '$1="./assets/');
      out['index.html'] = new TextEncoder().encode(html);
    } else {
      out[f] = bytes;
    }
  }
  return out;
}
