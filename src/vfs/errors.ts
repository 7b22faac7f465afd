// The error taxonomy. FsError carries a POSIX code and is what every ContainerFs throws;
// the shell prints it in coreutils style. UsageError is a user mistake in a command line.
// Anything else reaching the top is a bug and is shown with its stack.
//
// Messages carry hostile text (a container's file names, an engine's words): `describeFsError` is the
// one formatter of an FsError's words, used by FsError's own message and by the shell's reports
// (src/shell/report.ts). The subject is quoted as coreutils quotes it; a hint is free text and goes
// through escapeControls, so neither can put a control character on a terminal.
import {escapeControls, quotef} from '../format/quote.js';

const messages: Record<string, string> = {
  ENOENT: 'No such file or directory',
  ENOTDIR: 'Not a directory',
  EISDIR: 'Is a directory',
  EACCES: 'Permission denied',
  EPERM: 'Operation not permitted',
  EEXIST: 'File exists',
  ENOTEMPTY: 'Directory not empty',
  EXDEV: 'Invalid cross-device link',
  EROFS: 'Read-only file system',
  ELOOP: 'Too many levels of symbolic links',
  EINVAL: 'Invalid argument',
  ENAMETOOLONG: 'File name too long',
  ENOSPC: 'No space left on device',
  EBUSY: 'Device or resource busy',
  ENOTSUP: 'Operation not supported',
  EOPNOTSUPP: 'Operation not supported',
  EIO: 'Input/output error',
  ECANCELED: 'Operation canceled',
  EBADF: 'Bad file descriptor',
  EMFILE: 'Too many open files',
  ENOSYS: 'Function not implemented',
  ESRCH: 'No such process',
  ESTALE: 'Stale file handle',
};

export function strerror(code: string): string {
  return messages[code] ?? code;
}

export class DboxError extends Error {}

/** `SUBJECT: No such file or directory (hint)`: `subject` is already quoted (quotef or quoteaf). */
export function describeFsError(subject: string, code: string, hint?: string): string {
  return `${subject}: ${escapeControls(strerror(code))}${hint ? ` ${escapeControls(hint)}` : ''}`;
}

export class FsError extends DboxError {
  constructor(
    readonly code: string,
    readonly path: string,
    /** Extra words after the message, e.g. "(did you mean 'web'?)". Free text: shown with controls escaped. */
    readonly hint?: string,
  ) {
    super(describeFsError(quotef(path), code, hint));
  }
}

/** A command line a builtin cannot take; `status` as the GNU tool exits (ls 2, cp and cat 1). */
export class UsageError extends DboxError {
  constructor(message: string, readonly status = 2) {
    super(message);
  }
}

/** The engine did not answer: tells how to start one. */
export class EngineUnreachable extends DboxError {
  constructor(readonly endpoint: string, cause: string) {
    super(
      `cannot connect to the Docker engine at ${endpoint} (${cause})\n` +
        (endpoint.startsWith('unix://')
          ? 'Start one with `npm run setup` in the dbox directory (installs and starts a local dockerd), or set DOCKER_HOST.'
          : 'Check that this engine runs and is reachable, and its TLS or ssh credentials.'),
    );
  }
}

/** Turns anything thrown by fs, the native part or the engine into an FsError for `path`. */
export function toFsError(error: unknown, path: string): DboxError {
  if (error instanceof DboxError) return error;
  const code = (error as {code?: unknown} | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new FsError(code, path);
  throw error;
}

/** Errno numbers for FUSE and native callers. */
export const errnoOf: Record<string, number> = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EIO: 5, EBADF: 9, EACCES: 13, EBUSY: 16, EEXIST: 17, EXDEV: 18, ENOTDIR: 20,
  EISDIR: 21, EINVAL: 22, EMFILE: 24, ENOSPC: 28, EROFS: 30, ENAMETOOLONG: 36, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40,
  ENOTSUP: 95, EOPNOTSUPP: 95, ESTALE: 116, ECANCELED: 125,
};
