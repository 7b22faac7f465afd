// The error taxonomy, on the ground floor (it imports only src/format/quote.ts; every other part
// may import it). FsError carries a POSIX code and is what every ContainerFs throws; the shell
// prints it in coreutils style. UsageError is a user mistake in a command line. Anything else
// reaching the top is a bug and is shown with its stack.
//
// Messages carry hostile text (a container's file names, an engine's words). Two formatters, both
// here: `describeFsError` words an FsError (its own message, and the builtins' reports in
// src/shell/report.ts): the subject is quoted as coreutils quotes it, a hint is free text and goes
// through escapeControls; `topLevel` words whatever ended a command (the builtins' runner, the
// cli): a usage error as the tool words it, another DboxError as `dbox: …`, anything else as an
// internal error with its stack, every line with its controls escaped. Neither can put a control
// character on a terminal.
import os from 'node:os';
import util from 'node:util';
import {escapeControls, escapeControlsLines, quotef} from './format/quote.js';

/** glibc's strerror words where libuv's (util.getSystemErrorMap) differ or a GNU tool says them
 *  often; any other errno is worded from libuv's table, never shown as a bare code when known. */
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
  ENOMEM: 'Cannot allocate memory',
  E2BIG: 'Argument list too long',
};

/** libuv's words by errno name (lower case, as libuv has them). */
let systemWords: Map<string, string> | undefined;

/** The words for errno `code` as strerror(3) gives them (`ENOENT`: "No such file or directory"). */
export function strerror(code: string): string {
  const known = messages[code];
  if (known !== undefined) return known;
  systemWords ??= new Map([...util.getSystemErrorMap().values()].map(([name, words]) => [name, words]));
  const words = systemWords.get(code);
  return words ? words[0]!.toUpperCase() + words.slice(1) : code;
}

/** Every errno's words in lower case, the longest first (errnoOfMessage). */
let wordsOf: (readonly [string, string])[] | undefined;

/** The errno whose strerror words `message` holds, whatever their case (Go says them in lower
 *  case, coreutils and busybox as strerror does), the longest words first: the inverse of strerror,
 *  for engines and programs that report errors as text. EIO when it holds none. */
export function errnoOfMessage(message: string): string {
  wordsOf ??= Object.keys(os.constants.errno).map((code) => [code, strerror(code).toLowerCase()] as const)
    .filter(([code, words]) => words !== code.toLowerCase()).sort((a, b) => b[1].length - a[1].length);
  const text = message.toLowerCase();
  return wordsOf.find(([, words]) => text.includes(words))?.[0] ?? 'EIO';
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
  // Errno names have digits too (E2BIG): any errno the system knows, or one of that shape.
  if (typeof code === 'string' && (code in os.constants.errno || /^E[A-Z0-9]+$/.test(code))) return new FsError(code, path);
  throw error;
}

/** What the top of a command says about `error` that ended it, and the exit status: a usage error
 *  in its own words (status as the GNU tool's), another DboxError as `dbox: …` (1), anything else
 *  as a bug (70). Ends with a newline. */
export function topLevel(error: unknown): {readonly text: string; readonly status: number} {
  if (error instanceof UsageError) return {text: `${escapeControlsLines(error.message)}\n`, status: error.status};
  if (error instanceof DboxError) return {text: `dbox: ${escapeControlsLines(error.message)}\n`, status: 1};
  return {text: `dbox: internal error (please report): ${escapeControlsLines((error as Error)?.stack ?? String(error))}\n`, status: 70};
}
