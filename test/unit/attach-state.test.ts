// The validation of attach's state files (native/attach-state.c: state_parse), run through the
// helper's `state check` (pure: no engine, no state directory). A state file is data: anything
// but the exact shapes attach writes is refused, whole.
import {spawnSync} from 'node:child_process';
import fs from 'node:fs';
import {describe, expect, it} from 'vitest';
import {attachHelper} from '../../src/self.js';

const check = (text: string): string => spawnSync(attachHelper, ['state', 'check'], {input: text, encoding: 'utf8'}).stdout;

const mount = 'method=mount-api\ntarget=/opt/tools\ncreated=/opt\ndev=7:0\nino=12\n';
const upload = `method=upload\ntarget=/.dbox\ntoken=${'0123456789abcdef'.repeat(2)}\n`;

describe.runIf(fs.existsSync(attachHelper))('attach state files', () => {
  it('accepts what attach writes, unchanged', () => {
    expect(check(mount)).toBe(mount);
    expect(check(`${mount}mount_id=1234\n`)).toBe(`${mount}mount_id=1234\n`);
    expect(check(mount.replace('created=/opt', 'created='))).toBe(mount.replace('created=/opt', 'created='));
    expect(check(mount.replace('created=/opt', 'created=/opt/tools'))).toBe(mount.replace('created=/opt', 'created=/opt/tools'));
    expect(check(upload)).toBe(upload);
    expect(check(mount.replace('mount-api', 'blockdev'))).toBe(mount.replace('mount-api', 'blockdev'));
  });

  it.each([
    ['the root as target', mount.replace('target=/opt/tools', 'target=/').replace('created=/opt', 'created=')],
    ['the root as created', mount.replace('created=/opt', 'created=/')],
    ['a relative target', mount.replace('target=/opt/tools', 'target=opt/tools')],
    ['.. in the target', mount.replace('target=/opt/tools', 'target=/opt/../etc')],
    ['. in the target', mount.replace('target=/opt/tools', 'target=/opt/./tools')],
    ['// in the target', mount.replace('target=/opt/tools', 'target=/opt//tools')],
    ['a trailing slash', mount.replace('target=/opt/tools', 'target=/opt/tools/')],
    ['a control character', mount.replace('target=/opt/tools', 'target=/opt/to\x1bols')],
    ['created not an ancestor', mount.replace('created=/opt', 'created=/etc')],
    ['created a prefix but not an ancestor', mount.replace('created=/opt', 'created=/op')],
    ['created below the target', mount.replace('created=/opt', 'created=/opt/tools/bin')],
    ['an unknown method', mount.replace('mount-api', 'rm -rf /')],
    ['an unknown key', `${mount}command=rm -rf /\n`],
    ['a key twice', `${mount}target=/etc\n`],
    ['a line without =', `${mount}rm -rf /\n`],
    ['no method', mount.replace('method=mount-api\n', '')],
    ['a mount state without its source', mount.replace('dev=7:0\n', '')],
    ['a mount state with a token', `${mount}token=${'a'.repeat(32)}\n`],
    ['an upload with a source', `${upload}dev=7:0\n`],
    ['an upload with created', `${upload}created=/\n`],
    ['a short token', upload.replace(/token=.*/, 'token=abc')],
    ['an upper-case token', upload.replace(/token=.*/, `token=${'A'.repeat(32)}`)],
    ['a negative number', mount.replace('ino=12', 'ino=-12')],
    ['a huge number', mount.replace('ino=12', `ino=${'9'.repeat(30)}`)],
    ['a bad device', mount.replace('dev=7:0', 'dev=7')],
    ['an incomplete last line', mount.slice(0, -1)],
    ['a NUL byte', mount.replace('ino=12', 'ino=1\x002')],
    ['an empty file', ''],
    ['a huge file', `${mount}${'x'.repeat(10000)}\n`],
  ])('refuses %s', (_why, text) => {
    expect(check(text)).toMatch(/^invalid: /);
  });
});
