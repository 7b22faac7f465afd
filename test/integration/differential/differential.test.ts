// bash and dbox, line by line (corpus.ts): stdout, stderr and exit status must be the same.
//
//  - host paths: each line in a fresh copy of the fixture directory, as `-c` (bash -c LINE, dbox
//    -c LINE) and through commands read from a pipe (bash and dbox reading the line on stdin);
//  - container paths: a driver script runs each line in a fresh copy of the fixture inside a
//    running container, `( eval "$line" )`, once with bash on /proc/<pid>/root/… and once with
//    `dbox SCRIPT` on /containers/<name>/… (the same driver both times).
//
// Normalisations, and why each must differ:
//  - bash runs with argv[0] "dbox" (its messages then say `dbox: line 1: …`, as dbox's bash
//    does), so no message is rewritten for the shell's name;
//  - container variant: /proc/<pid>/root in bash's output reads /containers/<name>.
// Both get the same small environment (LC_ALL=C for the order of sort and globs).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, docker, makeFixture, requireEngine, type Fixture} from '../engine.js';
import {pool, runCaptured, type Run} from '../captured.js';
import {CORPUS, FIXTURE} from './corpus.js';

const hasEngine = requireEngine();

const run = runCaptured;

function writeFixture(dir: string): void {
  fs.mkdirSync(dir, {recursive: true});
  for (const [p, content] of Object.entries(FIXTURE)) {
    const full = path.join(dir, p);
    if (p.endsWith('/')) fs.mkdirSync(full, {recursive: true});
    else {
      fs.mkdirSync(path.dirname(full), {recursive: true});
      fs.writeFileSync(full, content);
    }
  }
}

interface Mismatch {
  readonly line: string;
  readonly bash: Run;
  readonly dbox: Run;
}

/**
 * The lines also read from a pipe. There bash reads its commands itself (dbox's bash has the
 * pipe as its stdin, as bash would): what differs from `-c` is what shares that stdin. So every
 * line that may read stdin (a builtin or program given no file, `read`, `-i`, a here-document) or
 * end or replace the shell, and every third other line for the rest of the language.
 */
const FROM_A_PIPE = CORPUS.filter((line, i) => i % 3 === 0 ||
  /\b(read|cat|head|tail|wc|sort|grep|sed|awk|tr|tee|cp|mapfile|readarray|exit|exec|source|eval)\b|<<|\s\.\s/.test(line));

const same = (a: Run, b: Run): boolean => a.stdout === b.stdout && a.stderr === b.stderr && a.status === b.status;

describe.runIf(hasEngine)('differential: bash and dbox run the same lines', () => {
  let work: string;
  let home: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-diff-'));
    home = path.join(work, 'home');
    fs.mkdirSync(home);
    env = {PATH: process.env['PATH'], HOME: home, LC_ALL: 'C', TERM: 'dumb', XDG_RUNTIME_DIR: path.join(work, 'run'), XDG_STATE_HOME: path.join(work, 'state')};
    fs.mkdirSync(env['XDG_RUNTIME_DIR']!, {mode: 0o700});
  });
  afterAll(() => {
    if (work) fs.rmSync(work, {recursive: true, force: true});
  });

  it(`has a corpus of at least 200 lines (${CORPUS.length})`, () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(200);
    expect(new Set(CORPUS).size).toBe(CORPUS.length);
  });

  it('sees a difference where there is one (dbox\'s builtins are functions of its bash)', async () => {
    const cwd = path.join(work, 'self-check');
    writeFixture(cwd);
    const b = await run('bash', ['--norc', '-c', 'type -t ls'], {cwd, env, argv0: 'dbox'});
    const d = await run(process.execPath, [dboxPath, '-c', 'type -t ls'], {cwd, env});
    expect([b.stdout, d.stdout]).toEqual(['file\n', 'function\n']);
    expect(same(b, d)).toBe(false);
  });

  const hostVariant = (name: string, lines: readonly string[], how: (line: string, cwd: string, who: 'bash' | 'dbox') => Promise<Run>) =>
    it(`host paths, ${name} (${lines.length} lines)`, async () => {
      const mismatches = (await pool(4, lines.map((line, i) => async (): Promise<Mismatch | undefined> => {
        const results: Run[] = [];
        for (const who of ['bash', 'dbox'] as const) {
          const cwd = path.join(work, `${name}-${who}-${i}`);
          writeFixture(cwd);
          results.push(await how(line, cwd, who));
          fs.rmSync(cwd, {recursive: true, force: true});
        }
        const [b, d] = results as [Run, Run];
        return same(b, d) ? undefined : {line, bash: b, dbox: d};
      }))).filter((m) => m !== undefined);
      expect(mismatches).toEqual([]);
    }, 600_000);

  hostVariant('as -c', CORPUS, (line, cwd, who) => who === 'bash'
    ? run('bash', ['--norc', '-c', line], {cwd, env, argv0: 'dbox'})
    : run(process.execPath, [dboxPath, '-c', line], {cwd, env}));

  hostVariant('read from a pipe', FROM_A_PIPE, (line, cwd, who) => who === 'bash'
    ? run('bash', ['--norc'], {cwd, env, input: line + '\n', argv0: 'dbox'})
    : run(process.execPath, [dboxPath], {cwd, env, input: line + '\n'}));

  describe('container paths', () => {
    let fixture: Fixture;
    let c: string;
    let pid: string;

    beforeAll(() => {
      const files: Record<string, string | {dir: true}> = {};
      for (const [p, content] of Object.entries(FIXTURE)) files[`tmp/template/${p.replace(/\/$/, '')}`] = p.endsWith('/') ? {dir: true} : content;
      fixture = makeFixture('diff', files);
      c = fixture.run('c');
      pid = docker('inspect', '-f', '{{.State.Pid}}', c);
    });
    afterAll(() => fixture?.cleanup());

    it('through a script, bash on /proc/<pid>/root and dbox on /containers/<name>', async () => {
      const lines = path.join(work, 'lines');
      fs.writeFileSync(lines, CORPUS.map((l) => l + '\0').join(''));
      const driver = path.join(work, 'driver.sh');
      fs.writeFileSync(driver, [
        'base=$1 out=$2 n=0',
        'while IFS= read -r -d "" line; do',
        '  rm -rf "$base/w"; cp -r "$base/template" "$base/w"; cd "$base/w"',
        '  ( eval "$line" ) > "$out/$n.out" 2> "$out/$n.err" < /dev/null',
        '  echo $? > "$out/$n.status"',
        '  cd /; n=$((n+1))',
        `done < ${lines}`,
      ].join('\n') + '\n');
      const results: Record<string, string> = {};
      for (const who of ['bash', 'dbox'] as const) {
        const out = path.join(work, `out-${who}`);
        fs.mkdirSync(out);
        const base = who === 'bash' ? `/proc/${pid}/root/tmp` : `/containers/${c}/tmp`;
        const r = who === 'bash'
          ? await run('bash', ['--norc', driver, base, out], {cwd: work, env})
          : await run(process.execPath, [dboxPath, driver, base, out], {cwd: work, env});
        expect(r.stderr).toBe('');
        results[who] = out;
      }
      const read = (who: string, n: number, ext: string): string => {
        const text = fs.readFileSync(path.join(results[who]!, `${n}.${ext}`), 'utf8');
        return who === 'bash' ? text.replaceAll(`/proc/${pid}/root`, `/containers/${c}`) : text;
      };
      const mismatches: Mismatch[] = [];
      CORPUS.forEach((line, n) => {
        const [b, d] = (['bash', 'dbox'] as const).map((who) => ({stdout: read(who, n, 'out'), stderr: read(who, n, 'err'), status: read(who, n, 'status').trim()}));
        if (!same(b!, d!)) mismatches.push({line, bash: b!, dbox: d!});
      });
      expect(mismatches).toEqual([]);
    }, 900_000);
  });
});
