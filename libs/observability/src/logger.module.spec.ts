import { isUnloggedPath, loggableUrl, serviceLogDestination } from './logger.module';

describe('logged request URLs', () => {
  it('keep the path, without the query or a billing link token', () => {
    expect(loggableUrl('/v1/customers/abc?key=pg_live_secret')).toBe('/v1/customers/abc');
    expect(loggableUrl('/billing/AQID.sig/top-up')).toBe('/billing/[token]/top-up');
    expect(loggableUrl('/billing/AQID.sig?notice=done')).toBe('/billing/[token]');
    expect(loggableUrl(undefined)).toBe('');
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
