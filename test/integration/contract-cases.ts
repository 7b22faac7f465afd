// The ContainerFs contract: cases every driver passes on one real container (contract.test.ts runs
// them for the local and engine drivers, agent-contract.test.ts for the agent). Each case names
// its own directory after the driver, so drivers of one container do not meet.
import {Readable} from 'node:stream';
import {expect, it} from 'vitest';
import {capabilitiesOf, fileType, type ContainerFs, type Stat} from '../../src/vfs/types.js';

export async function text(fs: ContainerFs, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of await fs.createReadStream(path)) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

export const code = (p: Promise<unknown>): Promise<string> => p.then(() => 'ok', (e: {code?: string}) => e.code ?? String(e));

/** 300,000 bytes in which every offset is different from its neighbours' (9 digits and a newline). */
export const RANGES_TEXT = Array.from({length: 30_000}, (_, i) => `${String(i).padStart(9, '0')}\n`).join('');
export const RANGES: [number, number | undefined][] = [[0, 10], [123_457, 65_536], [299_990, undefined], [299_995, 100], [400_000, 10], [5, 0], [1, undefined]];

export async function rangesRead(fs: ContainerFs): Promise<string[]> {
  const out: string[] = [];
  for (const [offset, length] of RANGES) {
    const chunks: Buffer[] = [];
    for await (const c of await fs.createReadStream('/data/ranges.txt', {offset, length})) chunks.push(c as Buffer);
    out.push(Buffer.concat(chunks).toString());
  }
  return out;
}
export const rangesExpected = RANGES.map(([offset, length]) => RANGES_TEXT.slice(offset, length === undefined ? undefined : offset + length));

/** The fixture's files (for makeFixture). */
export const CONTRACT_FILES: Record<string, string | {symlink: string} | {dir: true}> = {
  'data/hello.txt': 'hello\n',
  'data/sub/deep.txt': 'deep\n',
  'data/abs-link': {symlink: '/etc/passwd'},
  'data/rel-link': {symlink: '../data/hello.txt'},
  'data/dir-link': {symlink: '/data/sub'},
  'data/empty': {dir: true},
  'data/ranges.txt': RANGES_TEXT,
};

/** cat of a file in a container, as the engine has it: exec in a running one, an archive of a stopped one (async: a held filesystem is let go meanwhile). */
export async function engineCat(container: string, path: string, running = true): Promise<string> {
  const {execFile} = await import('node:child_process');
  const cmd = running ? `docker exec ${container} cat '${path}'` : `docker cp '${container}:${path}' - | tar -xO`;
  return new Promise((resolve, reject) => execFile('sh', ['-c', cmd], {encoding: 'utf8'}, (e, out) => (e ? reject(e) : resolve(out.trim()))));
}

export interface ContractTarget {
  /** The driver's name, for directory names. */
  readonly driver: string;
  /** The filesystem under test (called in each case). */
  fs(): ContainerFs;
  /** A file's content as the engine itself has it (docker exec, or an archive of a stopped container). */
  cat(path: string): Promise<string>;
}

/** Reading, listing, creating. */
export function fileCases({driver, fs, cat}: ContractTarget): void {
  it('stats files and directories', async () => {
    const st = await fs().stat('/data/hello.txt');
    expect(fileType(st.mode)).toBe('file');
    expect(st.size).toBe(6);
    expect(fileType((await fs().stat('/data/sub')).mode)).toBe('dir');
  });

  it('lstat sees links, stat follows them inside the container', async () => {
    expect(fileType((await fs().lstat('/data/abs-link')).mode)).toBe('symlink');
    expect(fileType((await fs().stat('/data/dir-link')).mode)).toBe('dir');
    expect(await fs().readlink('/data/abs-link')).toBe('/etc/passwd');
  });

  it('an absolute link reads the container file, not the host one', async () => {
    const passwd = await text(fs(), '/data/abs-link');
    expect(passwd).toContain('app:x:1000');
    expect(await text(fs(), '/data/rel-link')).toBe('hello\n');
    expect(await text(fs(), '/data/dir-link/deep.txt')).toBe('deep\n');
  });

  it('lists a directory with types', async () => {
    const entries = await fs().readdir('/data');
    const types = Object.fromEntries(entries.map((e) => [e.name, e.type]));
    expect(types).toEqual({'ranges.txt': 'file', 'hello.txt': 'file', sub: 'dir', 'abs-link': 'symlink', 'rel-link': 'symlink',
      'dir-link': 'symlink', empty: 'dir'});
    expect(await fs().readdir('/data/empty')).toEqual([]);
  });

  it('reports errno codes', async () => {
    expect(await code(fs().stat('/data/nope'))).toBe('ENOENT');
    expect(await code(fs().readdir('/data/hello.txt'))).toBe('ENOTDIR');
    expect(await code(fs().createReadStream('/data/sub'))).toBe('EISDIR');
    expect(await code(fs().readlink('/data/hello.txt'))).toBe('EINVAL');
  });

  it('creates files, directories and links', async () => {
    await fs().mkdir(`/tmp/${driver}-dir`, 0o750);
    await fs().writeFile(`/tmp/${driver}-dir/new.txt`, Readable.from([Buffer.from('new data')]), {mode: 0o640, size: 8});
    expect(await text(fs(), `/tmp/${driver}-dir/new.txt`)).toBe('new data');
    expect((await fs().stat(`/tmp/${driver}-dir/new.txt`)).mode & 0o777).toBe(0o640);
    await fs().symlink('new.txt', `/tmp/${driver}-dir/ln`);
    expect(await text(fs(), `/tmp/${driver}-dir/ln`)).toBe('new data');
    expect(await code(fs().mkdir(`/tmp/${driver}-dir`))).toBe('EEXIST');
    expect(await cat(`/tmp/${driver}-dir/new.txt`)).toBe('new data');
  });
}

/** Changes: rename, chmod, chown, utimes, truncate, unlink, link, remove. `statOf` reads an
 *  entry's attributes the way the driver gives them most exactly. */
export function changeCases({driver, fs}: ContractTarget, statOf: (f: ContainerFs, dir: string, name: string) => Promise<Stat> =
  (f, dir, name) => f.stat(`${dir}/${name}`)): void {
  const dir = `/tmp/changes-${driver}`;

  it('rename (replacing, or not), chmod, chown, utimes, truncate, unlink, link, remove', async () => {
    const f = fs();
    await f.mkdir(dir);
    await f.writeFile(`${dir}/m.txt`, Readable.from([Buffer.from('0123456789')]), {mode: 0o600, size: 10});
    await f.rename(`${dir}/m.txt`, `${dir}/n.txt`);
    expect(await code(f.stat(`${dir}/m.txt`))).toBe('ENOENT');
    await f.chmod(`${dir}/n.txt`, 0o604);
    await f.chown(`${dir}/n.txt`, 1000, 1000, false);
    await f.truncate(`${dir}/n.txt`, 4);
    await f.utimes(`${dir}/n.txt`, {sec: 1000, nsec: 0}, {sec: 2000, nsec: 0}, false);
    const st = await statOf(f, dir, 'n.txt');
    expect([st.mode & 0o777, st.uid, st.gid, st.mtime.sec, st.size]).toEqual([0o604, 1000, 1000, 2000, 4]);
    await f.writeFile(`${dir}/o.txt`, Readable.from([Buffer.from('x')]), {mode: 0o600, size: 1});
    expect(await code(f.rename(`${dir}/n.txt`, `${dir}/o.txt`, true))).toBe('EEXIST');
    await f.rename(`${dir}/n.txt`, `${dir}/o.txt`);
    expect(await text(f, `${dir}/o.txt`)).toBe('0123');
    await f.link(`${dir}/o.txt`, `${dir}/hard.txt`);
    expect(await text(f, `${dir}/hard.txt`)).toBe('0123');
    await f.unlink(`${dir}/hard.txt`);
    expect(await code(f.unlink(`${dir}/nope`))).toBe('ENOENT');
    expect(await code(f.unlink(dir))).toBe('EISDIR');
    await f.mkdir(`${dir}/a`);
    await f.symlink('/', `${dir}/a/root-link`);
    expect(await code(f.rmdir(dir))).toBe('ENOTEMPTY');
    await f.remove(dir);
    expect(await code(f.stat(dir))).toBe('ENOENT');
    expect((await f.statfs('/')).bsize).toBeGreaterThan(0);
  });

  it('writeFile inPlace: where the driver can (capabilities.inPlace), the existing inode with its mode, owner and links; elsewhere a new file', async () => {
    const f = fs();
    const d = `${dir}-inplace`;
    await f.mkdir(d);
    await f.writeFile(`${d}/t.txt`, Readable.from([Buffer.from('old bytes, longer')]), {mode: 0o640, size: 17});
    await f.chown(`${d}/t.txt`, 1000, 1000, false);
    await f.link(`${d}/t.txt`, `${d}/other-name`);
    const before = await f.lstat(`${d}/t.txt`);
    await f.writeFile(`${d}/t.txt`, Readable.from([Buffer.from('new')]), {mode: 0o600, size: 3, inPlace: true});
    expect(await text(f, `${d}/t.txt`)).toBe('new');
    const after = await f.lstat(`${d}/t.txt`);
    if (capabilitiesOf(f).inPlace) {
      expect([after.ino, after.mode & 0o7777, after.uid, after.nlink]).toEqual([before.ino, 0o640, 1000, 2]);
      expect(await text(f, `${d}/other-name`)).toBe('new');
    } else {
      expect(await text(f, `${d}/other-name`)).toBe('old bytes, longer'); // README, Limitations
    }
    await f.remove(d);
  });
}
