// Names that are not UTF-8 through the mount, on a stopped container (served by fuse-native and the
// engine driver, behind dbox-fuse or alone): listed, opened, written, renamed and linked with
// exactly their bytes. The container's side is checked through the engine (docker cp), never
// through the mount.
import {execFileSync, spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import {dboxPath, makeFixture, requireEngine, type Fixture} from './engine.js';

const hasEngine = requireEngine();
if (hasEngine && process.env['CI'] === 'true' && !fs.existsSync('/dev/fuse')) throw new Error('CI=true but /dev/fuse is missing');

const b = (...parts: (string | number[])[]): Buffer => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));
/** dbox's name for bytes (what makeFixture takes): a byte that is not UTF-8 as U+DC00+byte. */
const esc = (...bytes: number[]): string => bytes.map((x) => String.fromCharCode(0xdc00 + x)).join('');

const FF = b('inv', [0xff]);
const C328 = b('inv', [0xc3, 0x28]);
const E_ACUTE = b('caf', [0xc3, 0xa9]);
const TARGET = b('tgt-', [0xfe, 0x80], '-end');

/** The container's /data/names as the engine has it: each entry's name (bytes) and, for a link, its target. */
function engineListing(container: string): {names: string[]; links: Record<string, string>} {
  const tarball = execFileSync('docker', ['cp', `${container}:/data/names`, '-'], {maxBuffer: 64 << 20});
  const list = execFileSync('tar', ['-tv', '--quoting-style=literal', '--numeric-owner'], {input: tarball});
  const names: string[] = [];
  const links: Record<string, string> = {};
  for (const line of splitLines(list)) {
    // "lrwxrwxrwx 0/0 0 2024-01-01 00:00 names/x -> target": the name after "names/".
    const at = line.indexOf(Buffer.from(' names/'));
    if (at < 0) continue;
    let name = line.subarray(at + ' names/'.length);
    const arrow = name.indexOf(Buffer.from(' -> '));
    if (arrow >= 0) {
      links[name.subarray(0, arrow).toString('hex')] = name.subarray(arrow + 4).toString('hex');
      name = name.subarray(0, arrow);
    }
    if (name.length > 0) names.push(name.toString('hex'));
  }
  return {names: names.sort(), links};
}

/** One file's bytes in the container, by a wildcard on its name (no argument can carry invalid UTF-8). */
function engineFile(container: string, pattern: string): Buffer {
  const tarball = execFileSync('docker', ['cp', `${container}:/data/names`, '-']);
  return execFileSync('tar', ['-xO', '--wildcards', `names/${pattern}`], {input: tarball});
}

function splitLines(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, from)) {
    out.push(buf.subarray(from, i));
    from = i + 1;
  }
  return out;
}

const hex = (names: Buffer[]): string[] => names.map((n) => n.toString('hex')).sort();

describe.runIf(hasEngine).each([
  ['dbox-fuse in front', {}],
  ['fuse-native alone', {DBOX_FUSE: 'node'}],
] as [string, NodeJS.ProcessEnv][])('names as bytes through the mount (%s)', (_label, env) => {
  let fixture: Fixture;
  let stopped: string;
  let mnt: string;
  let dir: Buffer; // the stopped container's /data/names in the mount

  beforeAll(() => {
    fixture = makeFixture('fuse-bytes', {
      [`data/names/inv${esc(0xff)}`]: 'ff\n',
      [`data/names/inv${esc(0xc3)}(`]: 'c3 28\n',
      'data/names/café': 'e acute\n',
      [`data/names/link`]: {symlink: `tgt-${esc(0xfe, 0x80)}-end`},
    });
    stopped = fixture.create('stopped');
    mnt = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-mnt-bytes-'));
    const r = spawnSync(process.execPath, [dboxPath, 'mount', mnt], {encoding: 'utf8', env: {...process.env, ...env}});
    expect(r.stdout, r.stderr).toBe(`${mnt}\n`);
    dir = Buffer.from(path.join(mnt, stopped, 'data/names'));
  });
  afterAll(() => {
    if (mnt) {
      spawnSync(process.execPath, [dboxPath, 'umount', mnt]);
      fs.rmSync(mnt, {recursive: true, force: true});
    }
    fixture?.cleanup();
  });

  const at = (name: Buffer): Buffer => Buffer.concat([dir, Buffer.from('/'), name]);

  it('lists every name with exactly its bytes', () => {
    expect(hex(fs.readdirSync(dir, {encoding: 'buffer'}))).toEqual(hex([FF, C328, E_ACUTE, Buffer.from('link')]));
  });

  it('opens and reads each of them', () => {
    expect(fs.readFileSync(at(FF), 'utf8')).toBe('ff\n');
    expect(fs.readFileSync(at(C328), 'utf8')).toBe('c3 28\n');
    expect(fs.readFileSync(at(E_ACUTE), 'utf8')).toBe('e acute\n');
    expect(fs.statSync(at(FF)).size).toBe(3);
  });

  it('reads back a link target holding invalid bytes exactly, with its length as the size', () => {
    expect(fs.readlinkSync(at(Buffer.from('link')), {encoding: 'buffer'}).toString('hex')).toBe(TARGET.toString('hex'));
    expect(fs.lstatSync(at(Buffer.from('link'))).size).toBe(TARGET.length);
  });

  it('creates a file whose name is exactly the bytes written', () => {
    const name = b('new-', [0xff, 0xfe], '-', [0xc3, 0xa9]);
    fs.writeFileSync(at(name), 'written\n');
    expect(fs.readFileSync(at(name), 'utf8')).toBe('written\n');
    expect(engineListing(stopped).names).toContain(name.toString('hex'));
    expect(engineFile(stopped, 'new-*').toString()).toBe('written\n');
    fs.unlinkSync(at(name));
    expect(engineListing(stopped).names).not.toContain(name.toString('hex'));
  });

  it('renames to a name that is not UTF-8, and back', () => {
    const to = b('moved-', [0x80, 0xc3, 0x28]);
    fs.renameSync(at(FF), at(to));
    expect(hex(fs.readdirSync(dir, {encoding: 'buffer'}))).toEqual(hex([to, C328, E_ACUTE, Buffer.from('link')]));
    expect(engineListing(stopped).names).toEqual(hex([to, C328, E_ACUTE, Buffer.from('link')]));
    expect(fs.readFileSync(at(to), 'utf8')).toBe('ff\n');
    fs.renameSync(at(to), at(FF));
    expect(engineListing(stopped).names).toEqual(hex([FF, C328, E_ACUTE, Buffer.from('link')]));
  });

  it('makes a symlink whose name and target hold invalid bytes, and reads it back exactly', () => {
    const name = b('ln-', [0xfd]);
    const target = b('to-', [0xff], '/', [0xc3, 0x28]);
    fs.symlinkSync(target, at(name));
    expect(fs.readlinkSync(at(name), {encoding: 'buffer'}).toString('hex')).toBe(target.toString('hex'));
    expect(engineListing(stopped).links[name.toString('hex')]).toBe(target.toString('hex'));
    fs.unlinkSync(at(name));
  });
});
