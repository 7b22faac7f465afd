// Docker Engine archive API (HEAD / GET / PUT /containers/{id}/archive) as typed helpers.
// Used by the `engine` driver for stopped containers and engines without host access.
// What it trusts: nothing of what the engine sends. The stat header is JSON the engine wrote;
// tarEntries hands out entries as they come (names, types, link names unchecked): whoever turns
// an entry into a path checks it (engine-fs.ts listingsOfArchive, through untrusted.ts), and
// nothing here ever writes a tar entry to the host.
import querystring from 'node:querystring';
import {PassThrough, type Readable} from 'node:stream';
import tar from 'tar-stream';
import {isUtf8Text, nameBytes} from '../format/utf8.js';
import {errnoOfMessage, FsError} from '../errors.js';
import type {Engine} from './engine.js';
import {bytesExtract, entryNames} from './tar-names.js';

/** The X-Docker-Container-Path-Stat header: mode is a Go os.FileMode. */
export interface PathStat {
  readonly name: string;
  readonly size: number;
  readonly mode: number;
  readonly mtime: string;
  readonly linkTarget: string;
}

/** How long an engine may take to answer an upload cut short before its connection is dropped. */
const CUT_ANSWER_MS = 15_000;

// Go os.FileMode bits
const GO = {dir: 2 ** 31, symlink: 2 ** 27, device: 2 ** 26, pipe: 2 ** 25, socket: 2 ** 24, setuid: 2 ** 23,
  setgid: 2 ** 22, charDevice: 2 ** 21, sticky: 2 ** 20};

/** Converts a Go os.FileMode into a POSIX st_mode. */
export function goModeToPosix(goMode: number): number {
  const has = (bit: number): boolean => Math.floor(goMode / bit) % 2 === 1;
  let type = 0o100000;
  if (has(GO.dir)) type = 0o040000;
  else if (has(GO.symlink)) type = 0o120000;
  else if (has(GO.pipe)) type = 0o010000;
  else if (has(GO.socket)) type = 0o140000;
  else if (has(GO.device)) type = has(GO.charDevice) ? 0o020000 : 0o060000;
  let perm = goMode % 0o1000;
  if (has(GO.setuid)) perm |= 0o4000;
  if (has(GO.setgid)) perm |= 0o2000;
  if (has(GO.sticky)) perm |= 0o1000;
  return type | perm;
}

export function decodePathStat(header: string): PathStat {
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
}

/** An entry of an archive being read: its header, and a stream of its bytes. */
export type TarEntry = tar.Extract extends AsyncIterable<infer E> ? E : never;

/**
 * The entries of an archive response (a GET). The response is closed however the reading ends —
 * done, stopped early (head, a cancelled read) or failed: the engine keeps the container locked
 * while an archive response is open, and every later request for it would wait.
 */
export async function* tarEntries(stream: Readable): AsyncGenerator<TarEntry> {
  // Names are bytes (tar-names.ts): entries come with names in dbox's name codec.
  const extract = bytesExtract();
  stream.on('error', (error) => extract.destroy(error));
  stream.pipe(extract as unknown as NodeJS.WritableStream);
  try {
    for await (const entry of extract) {
      entryNames(entry.header);
      yield entry;
    }
  } finally {
    stream.destroy();
    extract.destroy();
  }
}

/**
 * Query strings carry a path as its bytes: a name that is not UTF-8 (the codec's lone surrogates)
 * is percent-encoded byte for byte, which the engine (Go's url.ParseQuery) decodes back to those
 * bytes; any other text is encoded as before. Node's documented way to do it: dockerode builds its
 * query strings with querystring.stringify, which calls querystring.escape.
 */
const standardEscape = querystring.escape;
querystring.escape = (text: string): string => {
  if (isUtf8Text(text)) return standardEscape(text);
  let out = '';
  for (const b of nameBytes(text)) out += /[A-Za-z0-9\-_.!~*'()]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
};


/** An answer of the engine other than a 404 as an FsError for `path`: its message says which
 *  (a HEAD has none: then EIO). Anything that is not an HTTP answer is left as it is. */
function answered(error: unknown, path: string): unknown {
  const status = (error as {statusCode?: number}).statusCode;
  if (typeof status !== 'number') return error;
  const message = ((error as {json?: {message?: string}}).json?.message ?? '').trim();
  return new FsError(errnoOfMessage(message), path, message ? `(the engine: ${message})` : `(the engine answered ${status})`);
}

const isNotFound = (error: unknown): boolean => (error as {statusCode?: number}).statusCode === 404;

export class Archive {
  private podman?: Promise<boolean>;

  constructor(private readonly engine: Engine, private readonly id: string) {}

  /** Whether the engine's extraction removes what is at a name before it looks at the entry to
   *  write there (Docker's does; Podman's refuses an unknown entry first, so it removes nothing).
   *  Asked once, from the engine's /version. */
  async removesOnExtraction(): Promise<boolean> {
    this.podman ??= this.engine
      .call(async (d) => (await d.version()) as {Components?: {Name?: string}[]})
      .then((v) => (v.Components ?? []).some((c) => /podman/i.test(c.Name ?? '')), () => false);
    return !(await this.podman);
  }

  /** A 404 means a missing path, unless the container itself is gone: then say so. */
  private async missing(path: string): Promise<undefined> {
    if (!(await this.engine.exists(this.id))) throw new FsError('ENOENT', path, '(the container was removed)');
    return undefined;
  }

  /** HEAD: stat of `path` (not following a final symlink); undefined when it does not exist. */
  async stat(path: string): Promise<PathStat | undefined> {
    try {
      const res = (await this.engine.call(async (d) => d.getContainer(this.id).infoArchive({path}))) as {
        headers: Record<string, string | undefined>;
        resume?: () => void;
      };
      res.resume?.();
      const header = res.headers['x-docker-container-path-stat'];
      return header ? decodePathStat(header) : undefined;
    } catch (error) {
      if (isNotFound(error)) return this.missing(path);
      throw answered(error, path);
    }
  }

  /** GET: a tar stream of `path` (a file, or a directory and everything below it). */
  async get(path: string): Promise<Readable | undefined> {
    try {
      return (await this.engine.call(async (d) => d.getContainer(this.id).getArchive({path}))) as Readable;
    } catch (error) {
      if (isNotFound(error)) return this.missing(path);
      throw answered(error, path);
    }
  }

  /**
   * PUT: extracts the tar stream into the existing directory `dir`. `signal` cuts the upload
   * short: the body ends where it is (the engine reads a truncated archive and answers an error),
   * and put returns only once the engine has answered, so whatever it extracted of the cut
   * archive is in place before the caller removes it. (Destroying the connection instead lets
   * bytes already on their way land after the caller's cleanup.) An engine that does not answer
   * within CUT_ANSWER_MS of the cut has its connection destroyed.
   */
  async put(dir: string, tar: Readable, signal?: AbortSignal): Promise<void> {
    if (!signal) {
      await this.engine.call(async (d) => d.getContainer(this.id).putArchive(tar, {path: dir}));
      return;
    }
    const body = new PassThrough();
    const giveUp = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const cut = (): void => {
      tar.unpipe(body);
      tar.destroy();
      body.end();
      timer = setTimeout(() => giveUp.abort(), CUT_ANSWER_MS);
    };
    tar.on('error', (error) => body.destroy(error));
    tar.pipe(body);
    if (signal.aborted) cut();
    else signal.addEventListener('abort', cut, {once: true});
    try {
      await this.engine.call(async (d) => d.getContainer(this.id).putArchive(body, {path: dir, abortSignal: giveUp.signal}));
    } finally {
      signal.removeEventListener('abort', cut);
      clearTimeout(timer);
    }
    if (signal.aborted) throw new FsError('ECANCELED', dir);
  }
}
