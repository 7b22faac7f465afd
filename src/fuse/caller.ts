// The caller of the fuse-native request being handled: its uid and gid (libfuse's fuse_get_context),
// which scripts/fix-fuse-native.js makes the patched binding keep for each request and expose while
// that request's handler runs on the JS thread. Read it synchronously, first thing in a handler:
// after the first await another request's handler may run.
//
// What it trusts: the kernel, which fills in the caller of each request.
import {createRequire} from 'node:module';

interface Binding {
  fuse_native_caller?: () => number[];
}

let binding: Binding | undefined;

function load(): Binding {
  if (!binding) {
    const require = createRequire(import.meta.url);
    const own = createRequire(require.resolve('fuse-native'));
    binding = own('node-gyp-build')(own.resolve('fuse-native/package.json').replace(/\/package\.json$/, '')) as Binding;
  }
  return binding;
}

/** The uid and gid of the request whose handler runs now; undefined outside one (or an unpatched binding). */
export function currentCaller(): {uid: number; gid: number} | undefined {
  const ids = load().fuse_native_caller?.();
  return ids && ids.length === 2 ? {uid: ids[0]!, gid: ids[1]!} : undefined;
}
