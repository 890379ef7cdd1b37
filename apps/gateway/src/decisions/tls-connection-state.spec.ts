import { type AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:tls';
import { readFileSync } from 'node:fs';
import { createTlsFixtures } from '@test/tls-fixtures';
import * as connection from './connection-failure';
import { TlsConnectionState } from './tls-connection-state';

/** grpc-js 1.14's message of an UNAVAILABLE call that found no connection, as observed. */
const noConnection = (error: string, details?: string) =>
  Object.assign(
    new Error(`14 UNAVAILABLE: No connection established. Last error: ${error}.`),
    details === undefined ? {} : { details },
  );
const UNTRUSTED = noConnection(
  'Error: unable to verify the first certificate',
  'No connection established. Last error: Error: unable to verify the first certificate',
);
const EXPIRED = noConnection('Error: certificate has expired');
const CLOSED = noConnection('Failed to connect (2026-12-07T02:08:58.395Z)');
const REFUSED = noConnection('Error: connect ECONNREFUSED 127.0.0.1:50051');

const MESSAGE =
  /^No TLS connection to the entitlement service: .+\. Until there is, requests it must ask about are answered 503 \(no route fails open on it\) and \/ready fails$/;

describe('TlsConnectionState', () => {
  const logger = { log: jest.fn(), error: jest.fn() };
  /** The probe's handshakes, answered by the test (whether the port speaks TLS). */
  let probes: ((tls: boolean) => void)[];
  let probed: jest.SpyInstance;
  let now: number;

  beforeEach(() => {
    logger.log.mockReset();
    logger.error.mockReset();
    probes = [];
    probed = jest
      .spyOn(connection, 'speaksTls')
      .mockImplementation(() => new Promise((resolve) => probes.push(resolve)));
    now = 1_000_000;
    jest.spyOn(Date, 'now').mockImplementation(() => now);
  });
  afterEach(() => jest.restoreAllMocks());

  /** Lets the probe's answer reach the state. */
  const settled = () => new Promise((resolve) => setImmediate(resolve));

  it('logs a TLS failure once per cause, with grpc-js’s details, and answers it every call', () => {
    const state = new TlsConnectionState(logger, true, '127.0.0.1:50051');
    for (let i = 0; i < 3; i++)
      expect(state.connectionFailed(UNTRUSTED)).toMatch(/not signed by a CA this gateway trusts/);
    expect(state.failure).toMatch(/not signed by a CA this gateway trusts/);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error).toHaveBeenCalledWith({ details: UNTRUSTED.details }, expect.any(String));
    expect(logger.error.mock.calls[0][1]).toMatch(MESSAGE);
    expect(logger.error.mock.calls[0][1]).toContain('not signed by a CA this gateway trusts');

    // Another cause is logged; the same one again is not.
    expect(state.connectionFailed(EXPIRED)).toMatch(/has expired/);
    expect(state.connectionFailed(EXPIRED)).toMatch(/has expired/);
    expect(logger.error).toHaveBeenCalledTimes(2);
    expect(logger.error.mock.calls[1][1]).toMatch(/: the service's TLS certificate has expired\./);
  });

  it('keeps what was known through a connection closed without a reason; another failure clears it', () => {
    const state = new TlsConnectionState(logger, true, '127.0.0.1:50051');
    expect(state.connectionFailed(CLOSED)).toBeUndefined();
    state.connectionFailed(UNTRUSTED);
    expect(state.connectionFailed(CLOSED)).toBe(state.failure);
    expect(state.failure).toMatch(/not signed by a CA/);

    expect(state.connectionFailed(REFUSED)).toBeUndefined();
    expect(state.failure).toBeUndefined();
    // The cause, seen again after an outage, is a new start of it: logged again.
    state.connectionFailed(UNTRUSTED);
    expect(logger.error).toHaveBeenCalledTimes(2);
    expect(logger.log).not.toHaveBeenCalled();
  });

  it('connected(): clears the failure and logs the recovery once', () => {
    const state = new TlsConnectionState(logger, true, '127.0.0.1:50051');
    state.connected();
    expect(logger.log).not.toHaveBeenCalled();

    state.connectionFailed(UNTRUSTED);
    state.connected();
    state.connected();
    expect(state.failure).toBeUndefined();
    expect(logger.log).toHaveBeenCalledTimes(1);
    expect(logger.log).toHaveBeenCalledWith(
      'The TLS connection to the entitlement service is up again',
    );
  });

  it('never probes when the gateway speaks TLS, nor a target without an address', () => {
    new TlsConnectionState(logger, true, '127.0.0.1:50051').connectionFailed(CLOSED);
    new TlsConnectionState(logger, false, 'unix:/tmp/grpc.sock').connectionFailed(CLOSED);
    // Nor for a failure that tells its cause.
    new TlsConnectionState(logger, false, '127.0.0.1:50051').connectionFailed(REFUSED);
    expect(probed).not.toHaveBeenCalled();
  });

  it('probes a plaintext gateway’s target one handshake at a time, at most every 5 s, never per request', async () => {
    const state = new TlsConnectionState(logger, false, 'dns:entitlement.internal:50051');
    for (let i = 0; i < 5; i++) expect(state.connectionFailed(CLOSED)).toBeUndefined();
    expect(probed).toHaveBeenCalledTimes(1);
    expect(probed).toHaveBeenCalledWith({ host: 'entitlement.internal', port: 50051 });

    // Answered (no TLS there): an outage, nothing logged, and no new probe before 5 s pass.
    now += 1000;
    probes[0](false);
    await settled();
    expect(state.failure).toBeUndefined();
    now += 4999;
    state.connectionFailed(CLOSED);
    expect(probed).toHaveBeenCalledTimes(1);
    now += 1;
    state.connectionFailed(CLOSED);
    state.connectionFailed(CLOSED);
    expect(probed).toHaveBeenCalledTimes(2);

    // The port speaks TLS: that is the failure from then on, logged once, without details.
    probes[1](true);
    await settled();
    expect(state.failure).toBe(connection.PLAINTEXT_TO_TLS);
    expect(state.connectionFailed(CLOSED)).toBe(connection.PLAINTEXT_TO_TLS);
    expect(logger.error).toHaveBeenCalledTimes(1);
    expect(logger.error.mock.calls[0]).toHaveLength(1);
    expect(logger.error.mock.calls[0][0]).toMatch(MESSAGE);
    expect(logger.error.mock.calls[0][0]).toContain(connection.PLAINTEXT_TO_TLS);

    // Another probe finding TLS while the failure is known logs nothing more.
    now += 5000;
    state.connectionFailed(CLOSED);
    probes[2](true);
    await settled();
    expect(logger.error).toHaveBeenCalledTimes(1);

    // The service answers a call: cleared (and the recovery logged).
    state.connected();
    expect(state.failure).toBeUndefined();
    expect(logger.log).toHaveBeenCalledTimes(1);
  });

  it('keeps a failure a call showed meanwhile when the probe then finds TLS', async () => {
    const state = new TlsConnectionState(logger, false, '127.0.0.1:50051');
    state.connectionFailed(CLOSED);
    state.connectionFailed(EXPIRED);
    probes[0](true);
    await settled();
    expect(state.failure).toMatch(/has expired/);
    expect(logger.error).toHaveBeenCalledTimes(1);
  });
});

describe('TlsConnectionState: the probe, against a real port', () => {
  it('finds a port that speaks TLS', async () => {
    const files = createTlsFixtures();
    const server: Server = createServer({
      cert: readFileSync(files.serverCert),
      key: readFileSync(files.serverKey),
    });
    try {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const logger = { log: jest.fn(), error: jest.fn() };
      const state = new TlsConnectionState(
        logger,
        false,
        `127.0.0.1:${(server.address() as AddressInfo).port}`,
      );
      state.connectionFailed(CLOSED);
      for (let i = 0; i < 40 && state.failure === undefined; i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(state.failure).toBe(connection.PLAINTEXT_TO_TLS);
      expect(logger.error).toHaveBeenCalledTimes(1);
    } finally {
      server.close();
      files.remove();
    }
  });
});
