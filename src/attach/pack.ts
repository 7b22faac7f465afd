// The contents of a host directory as a tar stream (entries relative to it, below `prefix` when
// one is given, after the `first` entries), for a driver that extracts archives natively
// (ContainerFs.extractTar: one request instead of one per entry) and for the attach helper's
// image. Only directories, regular files and symlinks; modes without set-id bits and owners left
// to the extracting side (root in an imported image), as the entry-by-entry copy writes them.
import fs from 'node:fs';
import path from 'node:path';
import {Readable} from 'node:stream';
import tar from 'tar-stream';

/** An entry written before the directory's: a file (with its bytes) or a directory. */
export interface FirstEntry {
  readonly name: string;
  readonly mode: number;
  readonly bytes?: Buffer;
}

export function pack(dir: string, prefix = '', first: readonly FirstEntry[] = []): Readable {
  const p = tar.pack();
  for (const e of first) {
    const base = {name: e.name, mode: e.mode & 0o777, uid: 0, gid: 0, mtime: new Date(0)};
    if (e.bytes) p.entry({...base, type: 'file', size: e.bytes.length}, e.bytes);
    else p.entry({...base, type: 'directory'});
  }
  if (prefix) p.entry({name: prefix, mode: 0o755, type: 'directory', uid: 0, gid: 0, mtime: new Date(0)});
  const add = async (abs: string, rel: string): Promise<void> => {
    for (const name of await fs.promises.readdir(abs)) {
      const from = path.join(abs, name);
      const to = rel ? `${rel}/${name}` : name;
      const st = await fs.promises.lstat(from);
      const base = {name: to, mode: st.mode & 0o777, mtime: st.mtime};
      if (st.isDirectory()) {
        p.entry({...base, type: 'directory'});
        await add(from, to);
      } else if (st.isSymbolicLink()) {
        p.entry({...base, type: 'symlink', linkname: await fs.promises.readlink(from)});
      } else if (st.isFile()) {
        await new Promise<void>((resolve, reject) => {
          const entry = p.entry({...base, type: 'file', size: st.size}, (err) => (err ? reject(err) : resolve()));
          fs.createReadStream(from).on('error', reject).pipe(entry as unknown as NodeJS.WritableStream);
        });
      }
    }
  };
  add(dir, prefix).then(() => p.finalize(), (error: unknown) => p.destroy(error as Error));
  return Readable.from(p, {objectMode: false});
}
