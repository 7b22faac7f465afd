// Names in tar streams are bytes (pure, with GNU tar as the reference where it is there): what the
// engine driver reads keeps a name's bytes (pax records included), what it writes carries them
// exactly, and its query strings carry a path's bytes.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import querystring from 'node:querystring';
import {Readable} from 'node:stream';
import {describe, expect, it} from 'vitest';
import {tarEntries} from '../../src/docker/archive.js';
import {paxRecords} from '../../src/docker/tar-names.js';
import {tarChunks, type EntryHeader} from '../../src/docker/tar-write.js';
import {bytesName, nameBytes} from '../../src/format/utf8.js';
import {entry} from '../adversarial/lib/tar-craft.js';

/** Names (codec) a stream of tar bytes holds, as tarEntries gives them. */
async function namesIn(bytes: Buffer): Promise<[string, string | null][]> {
  const out: [string, string | null][] = [];
  for await (const e of tarEntries(Readable.from([bytes]))) {
    out.push([e.header.name, e.header.linkname || null]);
    e.resume();
  }
  return out;
}

/** A tar written by tar-write.ts (a file's bytes are that many 'a'). */
async function written(headers: EntryHeader[]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of tarChunks(headers.map((header) => ({header, ...(header.size ? {body: [Buffer.alloc(header.size, 0x61)]} : {})})))) chunks.push(c);
  return Buffer.concat(chunks);
}

const invalid = bytesName(Buffer.from([0x69, 0x6e, 0x76, 0x2d, 0xff, 0xfe, 0x2d, 0x75, 0x74, 0x66])); // inv-\xff\xfe-utf
const gnuTar = spawnSync('tar', ['--version'], {encoding: 'utf8'}).stdout?.includes('GNU tar');

describe('names in tar streams are bytes', () => {
  it('pax records are read as bytes', () => {
    const body = Buffer.concat([Buffer.from('25 path=names/inv-'), Buffer.from([0xff, 0xfe]), Buffer.from('-utf\n'), Buffer.from('12 uid=1000\n')]);
    const r = paxRecords(body);
    expect(Buffer.from(r['path']!, 'latin1')).toEqual(Buffer.from([...Buffer.from('names/inv-'), 0xff, 0xfe, ...Buffer.from('-utf')]));
    expect(r['uid']).toBe('1000');
    expect(paxRecords(Buffer.from('99 path=cut'))).toEqual({});
  });

  it('an engine archive with a pax path that is not UTF-8 (as Docker writes it) is read byte for byte', async () => {
    // Go's archive/tar writes the name's bytes as they are in the record (and drops them from the ustar name).
    const record = Buffer.concat([Buffer.from('25 path=names/'), Buffer.from(nameBytes(invalid)), Buffer.from('\n')]);
    const tarBytes = Buffer.concat([entry({name: 'PaxHeaders/inv', type: 'pax', body: record}), entry({name: 'names/inv--utf', body: 'x'}),
      Buffer.alloc(1024)]);
    expect(await namesIn(tarBytes)).toEqual([[`names/${invalid}`, null]]);
  });

  it('what tar-write writes is read back as it was: invalid bytes, non-ASCII, long names, link names', async () => {
    const long = `${'d'.repeat(120)}/${'é'.repeat(60)}`;
    const headers = [
      {name: invalid, size: 3, type: 'file' as const},
      {name: 'é-ü-名', size: 0, type: 'file' as const},
      {name: `${long}/`, type: 'directory' as const},
      {name: 'l', type: 'symlink' as const, linkname: `../${invalid}`},
      {name: 'plain.txt', size: 1, type: 'file' as const},
      {name: 'h', type: 'link' as const, linkname: invalid},
    ];
    expect(await namesIn(await written(headers))).toEqual([[invalid, null], ['é-ü-名', null], [`${long}/`, null], ['l', `../${invalid}`],
      ['plain.txt', null], ['h', invalid]]);
  });

  it.runIf(gnuTar)('GNU tar lists the very bytes tar-write wrote, and extracts its files whole', async () => {
    const t = await written([{name: invalid, size: 3, type: 'file'}, {name: 'é', size: 0, type: 'file'}, {name: 'x'.repeat(150), size: 2}]);
    const r = spawnSync('tar', ['--quoting-style=literal', '-tf', '-'], {input: t});
    expect(r.stdout).toEqual(Buffer.concat([Buffer.from(nameBytes(invalid)), Buffer.from(`\né\n${'x'.repeat(150)}\n`)]));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-tar-write-'));
    try {
      expect(spawnSync('tar', ['-xf', '-', '-C', dir], {input: t}).status).toBe(0);
      expect(fs.readFileSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(nameBytes(invalid))]), 'utf8')).toBe('aaa');
      expect(fs.readFileSync(path.join(dir, 'x'.repeat(150)), 'utf8')).toBe('aa');
    } finally {
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });

  it('a body of another size than its header announces ends the tar with an error (never a short file)', async () => {
    const drain = async (body: Buffer[]): Promise<void> => {
      for await (const _ of tarChunks([{header: {name: 'f', size: 4}, body}])) { /* drained */ }
    };
    await expect(drain([Buffer.from('abc')])).rejects.toThrow(/3 bytes of the 4 announced/);
    await expect(drain([Buffer.from('abcde')])).rejects.toThrow(/more bytes than the 4 announced/);
  });

  it('a stream body stays its owner\'s: the descriptor under it is never closed, also when the tar ends early', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-tar-body-'));
    const fd = fs.openSync(path.join(dir, 'f'), 'w+');
    try {
      fs.writeSync(fd, 'abcd');
      const body = fs.createReadStream('', {fd, start: 0, autoClose: false});
      const gen = tarChunks([{header: {name: 'f', size: 4}, body}]);
      await gen.next(); // the header
      await gen.return(undefined); // ended before the body: as when an upload fails
      expect(fs.fstatSync(fd).size).toBe(4);
      const whole = fs.createReadStream('', {fd, start: 0, autoClose: false});
      for await (const _ of tarChunks([{header: {name: 'f', size: 4}, body: whole}])) { /* drained */ }
      expect(fs.fstatSync(fd).size).toBe(4);
    } finally {
      fs.closeSync(fd);
      fs.rmSync(dir, {recursive: true, force: true});
    }
  });

  it('an entry of a type no extractor knows carries that type byte, its checksum right', async () => {
    const t = await written([{name: 'gone', typeflag: 'Z'}]);
    expect(String.fromCharCode(t[156]!)).toBe('Z');
    const sum = [...t.subarray(0, 512)].reduce((a, b, i) => a + (i >= 148 && i < 156 ? 0x20 : b), 0);
    expect(parseInt(t.toString('latin1', 148, 154), 8)).toBe(sum);
  });

  it('a query string carries a path that is not UTF-8 byte for byte, and any other text as before', () => {
    expect(querystring.stringify({path: `/names/${invalid}`})).toBe('path=%2Fnames%2Finv-%FF%FE-utf');
    for (const text of ['/etc/passwd', '/a b/é名', "x!~*'()-_."]) expect(querystring.escape(text)).toBe(encodeURIComponent(text));
  });
});
