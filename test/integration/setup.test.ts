// The README's first command on a fresh machine: a clean clone, an empty HOME and npm cache, then
// `npm run setup && dbox`. It must build the native code once, leave `dbox` on PATH (a link into
// the clone; DBOX_BIN_DIR keeps this test's link out of the machine's /usr/local/bin) and run a line.
// The engine and its demo containers exist already: setup leaves them as they are.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {docker, requireEngine} from './engine.js';

const hasEngine = requireEngine();
const repo = path.resolve(import.meta.dirname, '../..');

describe.runIf(hasEngine)('npm run setup && dbox, on a fresh clone with a fresh HOME', () => {
  let work: string;
  beforeAll(() => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-setup-'));
  });
  afterAll(() => {
    if (work) fs.rmSync(work, {recursive: true, force: true});
  });

  it('installs, builds native code once, links dbox onto PATH, and dbox runs a line', () => {
    const clone = path.join(work, 'dbox');
    const home = path.join(work, 'home');
    const bin = path.join(work, 'bin');
    fs.mkdirSync(home);
    execFileSync('git', ['clone', '-q', repo, clone]);
    const demo = docker('inspect', '-f', '{{.Id}}', 'web');
    const env = {
      PATH: `${bin}:${process.env['PATH']}`, HOME: home, npm_config_cache: path.join(work, 'npm-cache'),
      DBOX_BIN_DIR: bin, CI: '', TERM: 'dumb',
    };
    // The README's command, in a shell, as a person runs it.
    const r = spawnSync('bash', ['-c', "set -o pipefail; npm run setup 2>&1 | tee setup.log | tail -5 && dbox -c 'ls -d /containers/web && echo $0 && ls /containers/web/etc | grep -c hostname'"],
      {cwd: clone, env, encoding: 'utf8', timeout: 900_000});
    const log = fs.readFileSync(path.join(clone, 'setup.log'), 'utf8');
    expect({status: r.status, stderr: r.stderr}).toEqual({status: 0, stderr: ''});
    expect(r.stdout).toMatch(/\/containers\/web\ndbox\n1\n$/);
    // Native code built once: dbox's, and fuse-native's patched source (node-gyp's banner for each),
    // with the pinned node-gyp (no "wants Node 22"), and not again by running dbox.
    expect(log.match(/gyp info ok/g)?.length).toBe(2);
    expect(log).not.toMatch(/node-gyp.*(unsupported|requires|wants).*node/i);
    for (const f of ['dbox_native.node', 'dbox-ns', 'dbox-client', 'dbox-attach']) expect(fs.existsSync(path.join(clone, 'build/Release', f))).toBe(true);
    expect(fs.readlinkSync(path.join(bin, 'dbox'))).toBe(path.join(clone, 'bin/dbox.js'));
    const built = fs.statSync(path.join(clone, 'build/Release/dbox_native.node')).mtimeMs;
    expect(spawnSync('bash', ['-c', 'dbox -c true'], {cwd: home, env, encoding: 'utf8'}).status).toBe(0);
    expect(fs.statSync(path.join(clone, 'build/Release/dbox_native.node')).mtimeMs).toBe(built);
    // The demo containers the machine already had are the same ones.
    expect(docker('inspect', '-f', '{{.Id}}', 'web')).toBe(demo);
  }, 900_000);
});
