// Where this Node's own headers are, so node-gyp builds without downloading anything (a fresh
// HOME has no ~/.npmrc nodedir and no node-gyp cache; this machine reaches no nodejs.org).
import fs from 'node:fs';
import path from 'node:path';

/** The --nodedir for node-gyp, or undefined (node-gyp then fetches the headers). */
export function nodeDir() {
  if (process.env['npm_config_nodedir']) return process.env['npm_config_nodedir'];
  const prefix = path.dirname(path.dirname(fs.realpathSync(process.execPath)));
  for (const dir of [prefix, '/usr', '/usr/local']) {
    if (fs.existsSync(path.join(dir, 'include', 'node', 'node_api.h'))) return dir;
  }
  return undefined;
}
