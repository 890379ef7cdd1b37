import { type AddressInfo, type Server, connect, createServer } from 'node:net';
import { createRelay } from './tcp-relay';

/** A replica that answers every connection with its name and closes. */
function replica(name: string): Promise<Server> {
  const server = createServer((socket) => socket.end(name));
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}
const portOf = (server: Server) => (server.address() as AddressInfo).port;
const close = (server: Server) => new Promise((resolve) => server.close(resolve));

/** What one connection through the relay reads before it closes ('' when it is refused). */
function ask(port: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(text));
  });
}

describe('tcp relay (compose: metering-lb)', () => {
  // In compose the replicas are addresses of one name, all on the same port; here they are
  // 127.0.0.1 and 127.0.0.2 (Linux routes all of 127/8 to the loopback), each answering with
  // its name, and 127.0.0.3, where nothing listens.
  it('spreads connections over the replicas and skips one that refuses', async () => {
    const a = await replica('a');
    const port = portOf(a);
    const b = createServer((socket) => socket.end('b'));
    await new Promise<void>((resolve) => b.listen(port, '127.0.0.2', resolve));
    // 127.0.0.3 has nothing listening on the port: it refuses.
    const relay = createRelay({
      host: 'metering',
      port,
      resolve: async () => ['127.0.0.1', '127.0.0.3', '127.0.0.2'],
    });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    const answers: string[] = [];
    for (let i = 0; i < 6; i++) answers.push(await ask(portOf(relay)));
    expect(answers.filter((x) => x === 'a').length).toBeGreaterThanOrEqual(2);
    expect(answers.filter((x) => x === 'b').length).toBeGreaterThanOrEqual(2);
    expect(answers).not.toContain('');
    await Promise.all([close(relay), close(a), close(b)]);
  });

  it('closes the connection when no replica answers or the name does not resolve', async () => {
    const relay = createRelay({ host: 'metering', port: 9, resolve: async () => ['127.0.0.3'] });
    await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
    expect(await ask(portOf(relay))).toBe('');
    await close(relay);
    const unresolved = createRelay({
      host: 'metering',
      port: 9,
      resolve: () => Promise.reject(new Error('ENOTFOUND')),
    });
    await new Promise<void>((resolve) => unresolved.listen(0, '127.0.0.1', resolve));
    expect(await ask(portOf(unresolved))).toBe('');
    await close(unresolved);
  });
});
