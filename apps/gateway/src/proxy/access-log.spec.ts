import { pinoOptions } from '@paygate/observability';
import pino from 'pino';
import { Writable } from 'node:stream';
import { AccessLog, type AccessLogEntry } from './access-log';

const entry: AccessLogEntry = {
  requestId: 'b1a87d2c-60a7-4d76-9c60-6d81c20fefaf',
  leaseId: 'b420440e-9690-44f0-99a3-01f6573b7b30',
  method: 'GET',
  url: '/demo/x',
  statusCode: 200,
  ms: 85.4,
};

/**
 * The line the gateway's own logger (the service's pino options) writes for the same fields:
 * what the access line went through before, and what every other line of the gateway is.
 */
function pinoLine(fields: Record<string, unknown>, time: number): string {
  let written = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      written += chunk.toString();
      done();
    },
  });
  const logger = pino(
    { ...pinoOptions('gateway', 'info'), timestamp: () => `,"time":${time}` },
    sink,
  );
  logger.child({ context: 'AccessLog' }).info(fields, 'request completed');
  return written;
}

describe('the access line', () => {
  it('is, byte for byte, the line pino writes for the same request', () => {
    const fields = {
      requestId: entry.requestId,
      leaseId: entry.leaseId,
      req: { method: 'GET', url: '/demo/x' },
      res: { statusCode: 200 },
      responseTime: 85,
    };
    expect(AccessLog.line('gateway', entry, 1796418070027)).toBe(pinoLine(fields, 1796418070027));
    const withoutLease: Partial<typeof fields> = { ...fields };
    delete withoutLease.leaseId;
    expect(AccessLog.line('gateway', { ...entry, leaseId: '' }, 1)).toBe(pinoLine(withoutLease, 1));
  });

  it('keeps neither the query nor a billing link token of the URL', () => {
    const line = (url: string) => JSON.parse(AccessLog.line('gateway', { ...entry, url }, 1));
    expect(line('/demo/x?api_key=pg_live_secret').req.url).toBe('/demo/x');
    expect(line('/billing/AQID.sig/top-up?x=1').req.url).toBe('/billing/[token]/top-up');
  });

  it('stays one valid JSON line whatever the URL holds', () => {
    const hostile = '/a"b\\c\n{"level":60}\u0000\u2028é\ud800/?q';
    const line = AccessLog.line('gateway', { ...entry, url: hostile }, 1);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    const parsed = JSON.parse(line);
    expect(parsed.req.url).toBe('/a"b\\c\n{"level":60}\u0000\u2028é\ud800/');
    expect(parsed.level).toBe(30);
    expect(parsed.msg).toBe('request completed');
  });

  it('writes a number that is not finite as null, as pino does', () => {
    const line = AccessLog.line('gateway', { ...entry, ms: Number.NaN, statusCode: Infinity }, 1);
    expect(JSON.parse(line)).toMatchObject({ res: { statusCode: null }, responseTime: null });
  });

  it('is written to the sink it was given, one line per request', () => {
    const lines: string[] = [];
    const log = new AccessLog({ write: (line: string) => lines.push(line) });
    log.write(entry);
    log.write({ ...entry, statusCode: 402, leaseId: '' });
    expect(lines.map((l) => JSON.parse(l).res.statusCode)).toEqual([200, 402]);
    expect(JSON.parse(lines[1])).not.toHaveProperty('leaseId');
  });

  it('is not built at all above info', () => {
    expect(AccessLog.atLevel('warn', 0)).toBeUndefined();
    expect(AccessLog.atLevel('info', 0)).toBeInstanceOf(AccessLog);
  });
});
