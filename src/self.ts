// Where dbox's own files are, for starting its child processes (the background mount, the
// attach helper, the mount's fast path, the session's bash and its helpers, the agent dbox runs on
// engines). This file sits one level below the package root, as the bundle's chunks do in dist/.
import {fileURLToPath} from 'node:url';

const own = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));

export const dboxLauncher = own('bin/dbox.js');
export const attachHelper = own('build/Release/dbox-attach');
/** dbox-attach built static, for the helper container on an engine's host (native/attach-helper.c). */
export const attachHelperStatic = own('build/Release/dbox-attach-helper');
/** attach to a stopped container or an image: a snapshot of its layers (native/attach-snapshot.c). */
export const snapshotHelper = own('build/Release/dbox-snapshot');
export const fuseHelper = own('build/Release/dbox-fuse');
/** Makes and enters the session's mount namespace (native/session-ns.c). */
export const namespaceHelper = own('build/Release/dbox-ns');
/** How the session's bash calls the builtins and asks for lines (native/builtin-client.c). */
export const builtinClient = own('build/Release/dbox-client');
/** The start of every bash dbox runs. */
export const sessionInit = own('src/shell/session.bash');
/** The static helper served on engines (native/agent). */
export const agentHelper = own('build/Release/dbox-agent');
export const fdChannelAddon = own('build/Release/dbox_fd_channel.node');
