import type { TlsReload, TlsReloadEvent } from '@paygate/config';
import { Logger } from '@nestjs/common';
import { counter } from './metrics';

const tlsReloads = counter(
  'paygate_tls_reloads_total',
  'Changes of TLS files seen: taken (reloaded) or refused (the files read before stay in use)',
  ['link', 'outcome'],
);

/**
 * How a service watches the TLS files of one link (`link`: the gRPC port, or the gateway's side
 * of it) and says what came of a change: logged (a refusal as an error, with every variable at
 * fault, never a file's contents) and counted, so that an alert can catch a renewal that was
 * not taken before the old certificate expires.
 */
export function tlsReload(link: string, intervalMs: number): TlsReload {
  const log = new Logger('TlsReload');
  return {
    intervalMs,
    report: (event: TlsReloadEvent) => {
      tlsReloads.inc({ link, outcome: event.outcome });
      if (event.outcome === 'reloaded')
        log.log(
          `${link}: renewed TLS files taken (${event.variables.join(', ')}): new connections use them`,
        );
      else
        log.error(
          `${link}: changed TLS files refused, the ones read before stay in use: ${event.problems.join('; ')}`,
        );
    },
  };
}
