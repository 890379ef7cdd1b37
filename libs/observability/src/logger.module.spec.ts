import { isUnloggedPath, loggableUrl, serviceLogDestination } from './logger.module';

describe('logged request URLs', () => {
  it('keep the path, without the query or a billing link token', () => {
    expect(loggableUrl('/v1/customers/abc?key=pg_live_secret')).toBe('/v1/customers/abc');
    expect(loggableUrl('/billing/AQID.sig/top-up')).toBe('/billing/[token]/top-up');
    expect(loggableUrl('/billing/AQID.sig?notice=done')).toBe('/billing/[token]');
    expect(loggableUrl(undefined)).toBe('');
    // An API key sent in the path by mistake keeps only its prefix.
    const key = 'pg_live_vNbE7ctyq2Abc-_09xyzVNbE7ctyq2Abc-_09xy';
    expect(loggableUrl(`/nosuch/${key}`)).toBe('/nosuch/pg_live_[redacted]');
    expect(loggableUrl(`/a/${key}/b/${key}?x=1`)).toBe(
      '/a/pg_live_[redacted]/b/pg_live_[redacted]',
    );
    expect(loggableUrl(`/a/pg%5Flive%5F${key.slice(8)}`)).toBe('/a/pg_live_[redacted]');
    // Letters percent-encoded, or the whole key encoded twice.
    expect(loggableUrl(`/a/%70g_%6Cive_${key.slice(8)}`)).toBe('/a/pg_live_[redacted]');
    expect(loggableUrl(`/a/pg%255Flive%255F${key.slice(8)}`)).toBe('/a/pg_live_[redacted]');
    expect(loggableUrl(`/a/PG_LIVE_${key.slice(8)}`)).toBe('/a/pg_live_[redacted]');
    // A path with escapes but no key, or escapes that do not decode, stays as sent.
    expect(loggableUrl('/a/caf%C3%A9')).toBe('/a/caf%C3%A9');
    expect(loggableUrl('/a/%E0%A4%A')).toBe('/a/%E0%A4%A');
    expect(loggableUrl('/v1/live/events')).toBe('/v1/live/events');
  });
});

describe('a service log destination', () => {
  it('is one per process for the same buffering, shared by whoever writes lines', () => {
    expect(serviceLogDestination(0)).toBe(serviceLogDestination(0));
  });
});

describe('paths never logged', () => {
  it('are health checks and metrics scrapes, and nothing that merely starts like them', () => {
    expect(['/health', '/ready', '/metrics', '/health/x'].map(isUnloggedPath)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(['/healthz', '/demo/health', '/', undefined].map(isUnloggedPath)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });
});
