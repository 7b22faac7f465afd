// A TCP relay on 127.0.0.1 to the real engine's unix socket. With DOCKER_HOST=tcp://… dbox takes
// the engine for a remote one and serves every container through the engine driver (archive API
// and exec), which is how the tests reach that driver on running containers. The relay can also
// hold an upload (a PUT) after some bytes: the slow side of a copy, under the test's control.
// A held client is still read (into memory), so its going away is seen and passed on at once.
import net from 'node:net';

export interface Relay {
  readonly address: string;
  /** Holds the next PUT after `bytes` of it have gone to the engine; resolves once it is held. */
  holdNextUpload(bytes: number): Promise<void>;
  /** Lets a held upload go on. */
  release(): void;
  close(): Promise<void>;
}

export async function startRelay(socketPath = '/var/run/docker.sock'): Promise<Relay> {
  const sockets = new Set<net.Socket>();
  let hold: {bytes: number; held: () => void} | undefined;
  let releaseHeld: (() => void) | undefined;
  const server = net.createServer((client) => {
    const engine = net.connect(socketPath);
    sockets.add(client).add(engine);
    const end = (): void => {
      client.destroy();
      engine.destroy();
    };
    client.on('error', end).on('close', end);
    engine.on('error', end).on('close', end);
    engine.pipe(client);
    let upload: {left: number; held: () => void} | undefined;
    // While an upload is held, what the client sends is kept here (and read, so its end is seen).
    let kept: Buffer[] | undefined;
    client.on('data', (chunk: Buffer) => {
      if (kept) {
        kept.push(chunk);
        return;
      }
      if (!upload && hold && chunk.subarray(0, 4).toString('latin1') === 'PUT ') {
        upload = {left: hold.bytes, held: hold.held};
        hold = undefined;
      }
      if (!upload || upload.left > chunk.length) {
        if (upload) upload.left -= chunk.length;
        engine.write(chunk);
        return;
      }
      // The held upload: this much goes on, the rest waits here until release().
      engine.write(chunk.subarray(0, upload.left));
      kept = [chunk.subarray(upload.left)];
      const {held} = upload;
      upload = {left: Infinity, held: () => undefined};
      releaseHeld = () => {
        const rest = kept ?? [];
        kept = undefined;
        for (const b of rest) engine.write(b);
      };
      held();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    address: `tcp://127.0.0.1:${port}`,
    holdNextUpload: (bytes) => new Promise<void>((resolve) => {
      hold = {bytes, held: resolve};
    }),
    release: () => {
      releaseHeld?.();
      releaseHeld = undefined;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
