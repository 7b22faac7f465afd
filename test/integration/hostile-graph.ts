// A hostile engine on a unix socket: the real engine behind it, except that its inspect of one
// container answers GraphDriver paths of the test's choosing (outside the data root, with "..",
// through a symbolic link). Everything else, exec's hijacked stream included, passes through, so
// the dbox agent runs for real and meets the forged paths.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';

export interface HostileGraph {
  readonly socket: string;
  close(): Promise<void>;
}

const ENGINE = '/var/run/docker.sock';

export async function startHostileGraph(socket: string, container: string, data: (real: Record<string, unknown>) => Record<string, unknown>): Promise<HostileGraph> {
  fs.rmSync(socket, {force: true});
  const open = new Set<net.Socket>();
  const inspect = new RegExp(`^GET (/v[0-9.]+)?/containers/${container}/json[ ?]`);
  // Raw bytes both ways (exec's hijacked stream, half-closed requests), but a connection whose
  // first request is this container's inspect: answered here, forged, and closed.
  const server = net.createServer({allowHalfOpen: true}, (client) => {
    open.add(client);
    client.once('data', (first: Buffer) => {
      if (!inspect.test(first.subarray(0, 200).toString('latin1'))) {
        const engine = net.connect({path: ENGINE, allowHalfOpen: true});
        open.add(engine);
        engine.write(first);
        client.pipe(engine);
        engine.pipe(client);
        const end = (): void => {
          client.destroy();
          engine.destroy();
        };
        client.on('error', end).on('close', end);
        engine.on('error', end).on('close', end);
        return;
      }
      const url = first.toString('latin1').split(' ')[1]!;
      http.get({socketPath: ENGINE, path: url}, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {GraphDriver?: {Data?: Record<string, unknown>}};
          if (body.GraphDriver?.Data) body.GraphDriver.Data = data(body.GraphDriver.Data);
          const bytes = Buffer.from(JSON.stringify(body));
          client.end(Buffer.concat([Buffer.from(`HTTP/1.1 ${answer.statusCode ?? 200} OK\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`), bytes]));
        });
      }).on('error', () => client.destroy());
    });
    client.on('error', () => client.destroy());
    client.on('close', () => open.delete(client));
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    close: () => new Promise<void>((resolve) => {
      for (const s of open) s.destroy();
      server.close(() => resolve());
      fs.rmSync(socket, {force: true});
    }),
  };
}
