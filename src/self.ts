// Where dbox's own launcher is, for starting dbox child processes (the background mount).
// This file sits one level below the package root, as the bundle's chunks do in dist/.
import {fileURLToPath} from 'node:url';

export const dboxLauncher = fileURLToPath(new URL('../bin/dbox.js', import.meta.url));
