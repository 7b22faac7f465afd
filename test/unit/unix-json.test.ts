import {describe, expect, it} from 'vitest';
import {dechunk, parseResponse} from '../../src/docker/unix-json.js';

describe('engine HTTP responses', () => {
  it('reads a Content-Length response', () => {
    const r = parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]'));
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body.toString()).toBe('[]');
  });
  it('de-chunks a chunked response', () => {
    const raw = 'HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"mes\r\n10\r\nsage":"no such"}\r\n0\r\n\r\n';
    const r = parseResponse(Buffer.from(raw));
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body.toString())).toEqual({message: 'no such'});
  });
  it('rejects truncated input', () => {
    expect(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\nContent-Len'))).toThrow(/truncated/);
    expect(() => dechunk(Buffer.from('5\r\nab'))).toThrow(/truncated/); // the size says 5, the data is cut
    expect(() => dechunk(Buffer.from('zz\r\n'))).toThrow(/bad chunk size/);
  });
});
