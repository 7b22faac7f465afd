// A private host file without a name: it exists only as an open fd, so nothing can be left
// behind in the temporary directory, whatever happens to this process.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Opens (read-write, mode 0600) a new file in the temporary directory and unlinks it at once. */
export function anonymousTempFd(): number {
  const name = path.join(os.tmpdir(), `dbox-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const fd = fs.openSync(name, 'wx+', 0o600);
  fs.unlinkSync(name);
  return fd;
}
