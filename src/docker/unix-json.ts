// A minimal HTTP/1.1 GET of JSON over the engine's unix socket, for the two read-only calls on
// dbox's start path (list containers, inspect one). Node's http client costs ~20 ms on its
// first request and dockerode adds ~20 ms of import; this costs ~2 ms (measured, README).
// Everything else (archive, exec, events, TLS, ssh) goes through dockerode.
import net from 'node:net';

export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string) {
    super(message);
  }
}

/** Decodes a chunked transfer-encoded body. */
export function dechunk(body: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) throw new Error('engine: truncated chunked body');
    const size = parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (Number.isNaN(size)) throw new Error('engine: bad chunk size');
    if (size === 0) return Buffer.concat(parts);
    parts.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
}

/** Splits a raw HTTP response into status, headers and (de-chunked) body. */
export function parseResponse(raw: Buffer): {status: number; headers: Record<string, string>; body: Buffer} {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new Error('engine: truncated response');
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? NaN);
  if (Number.isNaN(status)) throw new Error(`engine: bad status line '${statusLine}'`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const rest = raw.subarray(end + 4);
  const body = headers['transfer-encoding']?.toLowerCase() === 'chunked' ? dechunk(rest) : rest;
  return {status, headers, body};
}

export function getJson<T>(socketPath: string, path: string, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(socketPath);
    socket.setTimeout(timeoutMs, () => socket.destroy(Object.assign(new Error('timed out'), {code: 'ETIMEDOUT'})));
    socket.on('connect', () => socket.end(`GET ${path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n`));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', (hadError) => {
      if (hadError) return;
      try {
        const {status, body} = parseResponse(Buffer.concat(chunks));
        const json = body.length > 0 ? JSON.parse(body.toString('utf8')) : undefined;
        if (status >= 200 && status < 300) resolve(json as T);
        else reject(new HttpError(status, (json as {message?: string} | undefined)?.message ?? `HTTP ${status}`));
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}
