/** What a gateway's /metrics says of its admissions, decisions, event loop and GC. */
export interface GatewayStats {
  admitted: number;
  waited: number;
  decisions: number;
  decisionSeconds: number;
  /** Since the previous scrape (prom-client resets its event-loop histogram on each). */
  eventLoopP99Seconds: number;
  eventLoopMaxSeconds: number;
  gcSeconds: number;
  majorGcSeconds: number;
  majorGcs: number;
  heapUsedBytes: number;
  /** Leases asked of the entitlement service (Check calls), and leases closed (Release calls). */
  leaseRequests: number;
  leaseCloses: number;
}

export async function gatewayStats(port: number): Promise<GatewayStats> {
  // On the gateway's admin listener: 127.0.0.1, HTTP_PORT + 1000 (ADMIN_HTTP_PORT unset).
  const text = await scrape(`http://127.0.0.1:${port + 1000}/metrics`);
  const sum = (pattern: RegExp) =>
    [...text.matchAll(pattern)].reduce((n, m) => n + Number(m[1]), 0);
  return {
    admitted: sum(/^paygate_gateway_admissions_total ([\d.e+]+)$/gm),
    waited: sum(/^paygate_gateway_admission_waits_total ([\d.e+]+)$/gm),
    decisions: sum(/^paygate_gateway_decision_seconds_count\{[^}]*\} ([\d.e+]+)$/gm),
    decisionSeconds: sum(/^paygate_gateway_decision_seconds_sum\{[^}]*\} ([\d.e+]+)$/gm),
    eventLoopP99Seconds: sum(/^nodejs_eventloop_lag_p99_seconds ([\d.e+-]+)$/gm),
    eventLoopMaxSeconds: sum(/^nodejs_eventloop_lag_max_seconds ([\d.e+-]+)$/gm),
    gcSeconds: sum(/^nodejs_gc_duration_seconds_sum\{[^}]*\} ([\d.e+-]+)$/gm),
    majorGcSeconds: sum(/^nodejs_gc_duration_seconds_sum\{kind="major"\} ([\d.e+-]+)$/gm),
    majorGcs: sum(/^nodejs_gc_duration_seconds_count\{kind="major"\} ([\d.e+-]+)$/gm),
    heapUsedBytes: sum(/^nodejs_heap_size_used_bytes ([\d.e+-]+)$/gm),
    leaseRequests: sum(/^paygate_gateway_lease_requests_total\{[^}]*\} ([\d.e+]+)$/gm),
    leaseCloses: sum(/^paygate_gateway_lease_closes_total\{[^}]*\} ([\d.e+]+)$/gm),
  };
}

/**
 * One retry: fetch keeps the connection of the previous scrape, and when the gateway's admin
 * listener closes it as idle just as it is reused, the request fails with "other side closed"
 * (seen between phases about 5 s apart) though nothing is wrong.
 */
async function scrape(url: string): Promise<string> {
  try {
    return await (await fetch(url)).text();
  } catch {
    return (await fetch(url)).text();
  }
}

/** "0.4 % of 59,000 admissions waited for a lease; 590 decisions, mean 12.3 ms". */
export function statsBetween(before: GatewayStats, after: GatewayStats): string {
  const admitted = after.admitted - before.admitted;
  const waited = after.waited - before.waited;
  const decisions = after.decisions - before.decisions;
  const mean = ((after.decisionSeconds - before.decisionSeconds) / decisions) * 1000;
  return (
    `${((waited / admitted) * 100).toFixed(2)} % of ${admitted} admissions waited for a lease; ` +
    `${decisions} remote decisions, mean ${mean.toFixed(1)} ms; gateway event-loop delay ` +
    `p99 ${(after.eventLoopP99Seconds * 1000).toFixed(1)} ms, max ${(after.eventLoopMaxSeconds * 1000).toFixed(1)} ms; ` +
    `GC ${((after.gcSeconds - before.gcSeconds) * 1000).toFixed(0)} ms (${after.majorGcs - before.majorGcs} major, ` +
    `${((after.majorGcSeconds - before.majorGcSeconds) * 1000).toFixed(0)} ms), heap used ${(after.heapUsedBytes / 2 ** 20).toFixed(0)} MiB`
  );
}
