// A file of a stopped or remote container as the mount reads it. Reads from the start stream the
// whole file once into a private host file (a read waits only until its part has arrived, and
// re-reads are served from there); a read far beyond what has arrived asks the driver for just
// that range, so `tail -c` of a large file does not wait for the whole download.
import fs from 'node:fs';
import type {Readable} from 'node:stream';
import {anonymousTempFd} from '../vfs/host-temp.js';
import type {ContainerFs} from '../vfs/types.js';

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

  constructor(private readonly fs: ContainerFs, private readonly path: string) {}

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
