// The last step of `npm run setup`: puts `dbox` on PATH, as a symlink to this checkout's
// bin/dbox.js, in /usr/local/bin for root and ~/.local/bin for other users (DBOX_BIN_DIR
// overrides). Nothing is built again (npm link would run the install scripts a second time).
// A `dbox` there that is not a symlink is left alone, and said so; a link to another checkout is
// repointed here, and said so (with where it pointed).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const target = path.resolve(import.meta.dirname, '..', 'bin', 'dbox.js');
const home = process.env['HOME'] || os.homedir();
const dir = process.env['DBOX_BIN_DIR'] || (process.getuid?.() === 0 ? '/usr/local/bin' : path.join(home, '.local', 'bin'));
const link = path.join(dir, 'dbox');

fs.mkdirSync(dir, {recursive: true});
const existing = fs.lstatSync(link, {throwIfNoEntry: false});
if (existing && !existing.isSymbolicLink()) {
  console.error(`dbox: ${link} exists and is not a link; not replacing it (run ${target} directly, or remove it and run npm run setup again)`);
  process.exit(1);
}
const tmp = `${link}.${process.pid}`;
fs.symlinkSync(target, tmp);
const before = existing ? fs.readlinkSync(link) : undefined;
fs.renameSync(tmp, link);
console.log(before !== undefined && path.resolve(dir, before) !== target
  ? `dbox: ${link} -> ${target} (it pointed to ${before}; DBOX_BIN_DIR=DIR links elsewhere)` : `dbox: ${link} -> ${target}`);
const onPath = (process.env['PATH'] ?? '').split(':').some((p) => p && path.resolve(p) === path.resolve(dir));
if (!onPath) console.log(`dbox: ${dir} is not on your PATH; add it (export PATH="${dir}:$PATH") to run dbox by name`);
