import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {afterEach, beforeEach, describe, expect, it} from 'vitest';
import {contextDir} from '../../src/docker/context-dir.js';
import {currentContextName, currentEndpoint, defaultEndpoint, listEndpoints} from '../../src/docker/endpoints.js';

describe('endpoints, as the docker CLI finds them', () => {
  let home: string;
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({HOME: home, ...extra});
  const context = (name: string, host: string, opts: {skipVerify?: boolean; tls?: boolean} = {}): void => {
    const dir = contextDir(name);
    const meta = path.join(home, '.docker/contexts/meta', dir);
    fs.mkdirSync(meta, {recursive: true});
    fs.writeFileSync(path.join(meta, 'meta.json'), JSON.stringify({Name: name, Metadata: {}, Endpoints: {docker: {Host: host, SkipTLSVerify: opts.skipVerify ?? false}}}));
    if (opts.tls) {
      const tls = path.join(home, '.docker/contexts/tls', dir, 'docker');
      fs.mkdirSync(tls, {recursive: true});
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(tls, f), `${name}-${f}`);
    }
  };

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'dbox-home-'));
  });
  afterEach(() => fs.rmSync(home, {recursive: true, force: true}));

  it('defaults to the local socket', () => {
    expect(defaultEndpoint(env())).toEqual({name: 'default', address: 'unix:///var/run/docker.sock', socketPath: '/var/run/docker.sock'});
  });

  it('reads DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', () => {
    const certs = path.join(home, 'certs');
    fs.mkdirSync(certs);
    for (const f of ['ca.pem', 'cert.pem', 'key.pem']) fs.writeFileSync(path.join(certs, f), f);
    expect(defaultEndpoint(env({DOCKER_HOST: 'tcp://127.0.0.1:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs}))).toEqual({
      name: 'default', address: 'tcp://127.0.0.1:2376', tls: {verify: true, ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem'}});
  });

  it('lists contexts with their TLS material, default first', () => {
    context('prod', 'tcp://127.0.0.1:2376', {tls: true});
    context('lab', 'ssh://me@lab', {});
    context('insecure', 'tcp://127.0.0.1:2375', {skipVerify: true, tls: true});
    const all = listEndpoints(env());
    expect(all.map((e) => e.name)).toEqual(['default', 'insecure', 'lab', 'prod']);
    expect(all.find((e) => e.name === 'prod')?.tls).toEqual({verify: true, ca: 'prod-ca.pem', cert: 'prod-cert.pem', key: 'prod-key.pem'});
    expect(all.find((e) => e.name === 'insecure')?.tls?.verify).toBe(false);
    expect(all.find((e) => e.name === 'lab')).toEqual({name: 'lab', address: 'ssh://me@lab'});
  });

  it('picks the current context: DOCKER_HOST, then DOCKER_CONTEXT, then config.json', () => {
    context('prod', 'tcp://127.0.0.1:2376');
    fs.writeFileSync(path.join(home, '.docker/config.json'), JSON.stringify({currentContext: 'prod'}));
    expect(currentContextName(env())).toBe('prod');
    expect(currentEndpoint(env()).address).toBe('tcp://127.0.0.1:2376');
    expect(currentContextName(env({DOCKER_CONTEXT: 'default'}))).toBe('default');
    expect(currentContextName(env({DOCKER_HOST: 'unix:///x.sock', DOCKER_CONTEXT: 'prod'}))).toBe('default');
    expect(() => currentEndpoint(env({DOCKER_CONTEXT: 'gone'}))).toThrow(/context "gone" does not exist/);
  });
});
