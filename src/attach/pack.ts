// The contents of a host directory as a tar stream (entries relative to it), for a driver that
// extracts archives natively (ContainerFs.extractTar): one request instead of one per entry.
// Only directories, regular files and symlinks; modes without set-id bits and owners left to the
// extracting side, as the entry-by-entry copy writes them.
import fs from 'node:fs';
import path from 'node:path';
import {Readable} from 'node:stream';
import tar from 'tar-stream';

export function pack(dir: string): Readable {
  const p = tar.pack();
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
  add(dir, '').then(() => p.finalize(), (error: unknown) => p.destroy(error as Error));
  return Readable.from(p, {objectMode: false});
}
