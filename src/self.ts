// Where dbox's own files are, for starting its child processes (the background mount, the
// attach helper, the mount's fast path, the agent dbox runs on engines). This file sits one level below the package root, as the bundle's chunks do in dist/.
import {fileURLToPath} from 'node:url';

export const dboxLauncher = fileURLToPath(new URL('../bin/dbox.js', import.meta.url));
export const attachHelper = fileURLToPath(new URL('../build/Release/dbox-attach', import.meta.url));
export const fuseHelper = fileURLToPath(new URL('../build/Release/dbox-fuse', import.meta.url));
export const agentHelper = fileURLToPath(new URL('../build/Release/dbox-agent', import.meta.url));
export const fdChannelAddon = fileURLToPath(new URL('../build/Release/dbox_fd_channel.node', import.meta.url));
