// A tar stream of a host directory, as one top-level directory `name` (for the archive API).
import fs from 'node:fs';
import path from 'node:path';
import {Readable} from 'node:stream';
import tar from 'tar-stream';

export function pack(dir: string, name: string): Readable {
  const p = tar.pack();
  const add = async (abs: string, rel: string): Promise<void> => {
    const st = await fs.promises.lstat(abs);
    const base = {name: rel, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid};
    if (st.isDirectory()) {
      p.entry({...base, type: 'directory'});
      for (const child of await fs.promises.readdir(abs)) await add(path.join(abs, child), `${rel}/${child}`);
    } else if (st.isSymbolicLink()) {
      p.entry({...base, type: 'symlink', linkname: await fs.promises.readlink(abs)});
    } else if (st.isFile()) {
      await new Promise<void>((resolve, reject) => {
        const entry = p.entry({...base, type: 'file', size: st.size}, (err) => (err ? reject(err) : resolve()));
        fs.createReadStream(abs).pipe(entry as unknown as NodeJS.WritableStream);
      });
    }
  };
  add(dir, name).then(() => p.finalize(), (error: unknown) => p.destroy(error as Error));
  return Readable.from(p, {objectMode: false});
}
