// `npm install`'s install step: builds dbox's C part once (node-gyp rebuild, the version pinned
// in package.json), against this Node's own headers when it has them (scripts/node-headers.js).
import {execFileSync} from 'node:child_process';
import {createRequire} from 'node:module';
import {nodeDir} from './node-headers.js';

const require = createRequire(import.meta.url);
const nodedir = nodeDir();
execFileSync(process.execPath, [require.resolve('node-gyp/bin/node-gyp.js'), 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])],
  {stdio: 'inherit'});
