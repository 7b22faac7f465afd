#!/usr/bin/env node
// dbox launcher: runs the bundle built by `npm install` (scripts/build.js).
import('../dist/cli.js').catch((error) => {
  if (error?.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('dbox: not built yet; run `npm install` in the dbox directory\n');
    process.exit(1);
  }
  throw error;
});
