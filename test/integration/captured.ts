// A process run to completion with its output captured, for the differential suites (bash vs
// dbox, GNU coreutils vs dbox): what each printed and how it ended, compared byte for byte.
import {spawn} from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Run {
  readonly stdout: string;
  readonly stderr: string;
  /** The exit status, or the signal's name. */
  readonly status: number | string;
}

export interface RunOptions {
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Written to its stdin, then closed (default: nothing). */
  readonly input?: string;
  readonly argv0?: string;
  /** How output bytes become the strings compared ('latin1': one char per byte, nothing merged). */
  readonly encoding?: BufferEncoding;
}

/** Runs `cmd` with `args` to its end (killed after 60 s); output decoded once it is all there. */
export function runCaptured(cmd: string, args: readonly string[], opts: RunOptions): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {cwd: opts.cwd, env: opts.env, stdio: ['pipe', 'pipe', 'pipe'], ...(opts.argv0 ? {argv0: opts.argv0} : {})});
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const encoding = opts.encoding ?? 'utf8';
      resolve({stdout: Buffer.concat(out).toString(encoding), stderr: Buffer.concat(err).toString(encoding), status: code ?? String(signal)});
    });
  });
}

/** Runs `jobs` with at most `n` at a time; results in the jobs' order. */
export async function pool<T>(n: number, jobs: readonly (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({length: n}, async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!();
    }
  }));
  return out;
}

/**
 * Every line in directory `dir`, each in a subshell, by one script run by `shell` (bash for the
 * reference; dbox, whose bash has its builtins as functions): what each line printed, its
 * status, and when it started (seconds, less one: a time after it is the line's). One process for
 * all the lines, where `dbox -c` per line would start the mount for each (a line naming a
 * container path runs in bash, which sees containers through the mount). With `each`, line N
 * runs in `dir/N`, made first by GNU's cp -a of `template` to `copies/N` when a template is given.
 * The script itself must end well (status 0, nothing on stderr), or this throws.
 */
export async function runLines(shell: readonly string[], lines: readonly string[], dir: string,
  opts: {work: string; env: NodeJS.ProcessEnv; encoding?: BufferEncoding; each?: {template?: string; copies?: string}}): Promise<(Run & {since: number})[]> {
  const out = fs.mkdtempSync(path.join(opts.work, 'lines-'));
  fs.writeFileSync(path.join(out, 'lines'), lines.map((l) => l + '\0').join(''));
  fs.writeFileSync(path.join(out, 'driver'), [
    'dir=$1 out=$2 each=$3 template=$4 copies=$5 n=0',
    'while IFS= read -r -d "" line; do',
    '  here=$dir',
    '  if [ -n "$template" ]; then /bin/cp -a "$template" "$copies/$n"; fi',
    '  if [ -n "$each" ]; then here=$dir/$n; fi',
    '  /bin/date +%s.%N > "$out/$n.since"',
    '  ( cd "$here" && eval "$line" ) > "$out/$n.out" 2> "$out/$n.err" < /dev/null',
    '  echo $? > "$out/$n.status"',
    '  n=$((n+1))',
    'done < "$out/lines"',
  ].join('\n') + '\n');
  const {each} = opts;
  if (each?.copies) fs.mkdirSync(each.copies);
  const [cmd, ...args] = shell;
  const r = await runCaptured(cmd!, [...args, path.join(out, 'driver'), dir, out, each ? '1' : '', each?.template ?? '', each?.copies ?? ''],
    {cwd: opts.work, env: opts.env});
  if (r.status !== 0 || r.stderr !== '') throw new Error(`${shell.join(' ')} ran the lines badly (${r.status}): ${r.stderr}`);
  return lines.map((_, n) => {
    const read = (ext: string): string => fs.readFileSync(path.join(out, `${n}.${ext}`), opts.encoding ?? 'utf8');
    return {stdout: read('out'), stderr: read('err'), status: Number(read('status')), since: Number(read('since')) - 1};
  });
}
