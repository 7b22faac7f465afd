// A file of a stopped or remote container as the mount reads and writes it. Reads from the start
// stream the whole file once into a private host file (a read waits only until its part has
// arrived, and re-reads are served from there); a read far beyond what has arrived asks the driver
// for just that range, so `tail -c` of a large file does not wait for the whole download.
// Opened for writing, the file is edited in the host file and uploaded whole when it is flushed
// (close, fsync): the engine's archive API writes whole files only.
import fs from 'node:fs';
import type {Readable} from 'node:stream';
import {anonymousTempFd} from '../vfs/host-temp.js';
import type {ContainerFs, WriteOptions} from '../vfs/types.js';

/** How far ahead of the download a read may land and still wait for it. */
const AHEAD = 4 << 20;

export class RemoteFile {
  /** The host file the download goes into; also the mount's handle number for this open file. */
  readonly fd = anonymousTempFd();
  private received = 0;
  private done = false;
  private error: unknown;
  private source?: Promise<Readable>;
  private waiters: (() => void)[] = [];
  private dirty = false;
  /** How the file is uploaded: set when it is opened for writing. */
  private upload?: Pick<WriteOptions, 'mode' | 'owner'>;

  constructor(private readonly fs: ContainerFs, private readonly path: string) {}

  /** Whether this is `path` of `fs`, open for writing (its upload will write the file again). */
  writes(fs: ContainerFs, path: string): boolean {
    return this.upload !== undefined && this.fs === fs && this.path === path;
  }

  /** The owner its upload will give the file, when one was set. */
  get owner(): WriteOptions['owner'] {
    return this.upload?.owner;
  }

  /** A chmod or chown of the file while it is open for writing: its upload keeps it (sed -i sets
   *  the mode of its new file before closing it; the upload on close must not undo that). */
  keep(change: Partial<Pick<WriteOptions, 'mode' | 'owner'>>): void {
    if (this.upload) this.upload = {...this.upload, ...change};
  }

  /** Makes the file writable: its current bytes are fetched first, unless it is truncated. */
  async openForWrite(upload: Pick<WriteOptions, 'mode' | 'owner'>, truncate: boolean): Promise<void> {
    this.upload = upload;
    if (truncate) {
      this.done = true;
      this.dirty = true;
      return;
    }
    this.source ??= this.download();
    await this.until(Infinity);
  }

  write(buf: Buffer, len: number, pos: number): number {
    if (!this.upload) throw Object.assign(new Error('not open for writing'), {code: 'EBADF'});
    this.dirty = true;
    return fs.writeSync(this.fd, buf, 0, len, pos);
  }

  truncate(size: number): void {
    if (!this.upload) throw Object.assign(new Error('not open for writing'), {code: 'EBADF'});
    this.dirty = true;
    fs.ftruncateSync(this.fd, size);
  }

  /** Uploads the file if it was changed since the last flush. */
  async flush(): Promise<void> {
    if (!this.dirty || !this.upload) return;
    this.dirty = false;
    const size = fs.fstatSync(this.fd).size;
    const bytes = fs.createReadStream('', {fd: this.fd, start: 0, autoClose: false, highWaterMark: 1 << 20});
    try {
      await this.fs.writeFile(this.path, bytes, {...this.upload, size});
    } catch (error) {
      this.dirty = true;
      throw error;
    }
  }

  async read(buf: Buffer, len: number, pos: number): Promise<number> {
    if (!this.source && pos < AHEAD) this.source = this.download();
    if (this.source && (this.done || pos <= this.received + AHEAD)) {
      await this.until(pos + len);
      return fs.readSync(this.fd, buf, 0, len, pos);
    }
    let n = 0;
    for await (const chunk of await this.fs.createReadStream(this.path, {offset: pos, length: len})) {
      n += (chunk as Buffer).copy(buf, n);
    }
    return n;
  }

  /** Ends the download, if any, and frees the host file. */
  close(): void {
    this.source?.then((s) => s.destroy(), () => undefined);
    this.done = true;
    fs.closeSync(this.fd);
  }

  private async download(): Promise<Readable> {
    const source = await this.fs.createReadStream(this.path).catch((error: unknown) => {
      this.finish(error);
      throw error;
    });
    if (this.done) { // closed while the request was on its way
      source.destroy();
      return source;
    }
    source.on('data', (chunk: Buffer) => {
      fs.writeSync(this.fd, chunk, 0, chunk.length, this.received);
      this.received += chunk.length;
      this.wake();
    });
    source.on('end', () => this.finish());
    source.on('error', (error) => this.finish(error));
    return source;
  }

  private finish(error?: unknown): void {
    this.done = true;
    this.error = error;
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(end: number): Promise<void> {
    while (this.received < end && !this.done) await new Promise<void>((r) => this.waiters.push(r));
    if (this.error && this.received < end) throw this.error;
  }
}
