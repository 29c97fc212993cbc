import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const APP_DIR = join(ROOT, 'dist/app');
const TYPES: Record<string, string> = {
  '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.wasm': 'application/wasm', '.svg': 'image/svg+xml', '.webmanifest': 'application/manifest+json',
};

export interface Served {
  readonly url: string;
  /** Every request the browser made: method, path, and body bytes. */
  readonly requests: { method: string; url: string; body: string }[];
  close(): Promise<void>;
}

/**
 * Serves the built app (or another static folder: `root`), plus model folders under the Hub's URL
 * shape (/{owner}/{name}/resolve/{revision}/{path}, with Range support), on a free localhost port.
 */
export async function serve(hub: Record<string, string> = {}, root = APP_DIR): Promise<Served> {
  if (root === APP_DIR && !existsSync(join(APP_DIR, 'index.html'))) throw new Error('dist/app is not built: run `npm run build:app` first');
  const requests: Served['requests'] = [];
  const server: Server = createServer(async (req, res) => {
    const body = await readBody(req);
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '', body });
    const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
    const hubMatch = /^\/([^/]+\/[^/]+)\/resolve\/[^/]+\/(.+)$/.exec(path);
    let file: string | null = null;
    if (hubMatch && hub[hubMatch[1]!]) file = join(hub[hubMatch[1]!]!, normalize(hubMatch[2]!));
    else file = join(root, normalize(path.endsWith('/') ? `${path}index.html` : path));
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const size = statSync(file).size;
    const headers: Record<string, string | number> = {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'accept-ranges': 'bytes',
      'access-control-allow-origin': '*', 'access-control-expose-headers': 'content-range, content-length',
    };
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      const start = Number(range[1]);
      const end = range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
      createReadStream(file, { start, end }).pipe(res);
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
  });
}

/** Debian's Chromium with WebGPU on (SwiftShader); fails clearly when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`Chromium not found at ${executablePath}: run scripts/install.sh (apt-get install chromium)`);
  return chromium.launch({
    executablePath,
    headless: true,
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
