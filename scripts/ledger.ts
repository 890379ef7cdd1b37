/**
 * Compares every stored balance with the sum of its ledger entries, and with --rebuild rewrites
 * the balances from the ledger. Exits 1 when a drift was found (after reporting it).
 *   node dist/scripts/ledger.js [--rebuild]   (DATABASE_URL)
 */
import 'reflect-metadata';
import { LedgerService } from '../apps/entitlement/src/credits/ledger.service';
import { entitlementDataSource } from '../apps/entitlement/src/database/entitlement.data-source';
import { runScript, withDatabase } from './operator-script';

async function main(): Promise<number> {
  return withDatabase(
    (url) => entitlementDataSource(url, 2),
    async (dataSource) => {
      const ledger = new LedgerService(dataSource);
      const rebuild = process.argv.includes('--rebuild');
      const drift = rebuild ? await ledger.rebuild() : await ledger.findDrift();
      for (const d of drift) {
        console.log(
          `customer ${d.customerId}: stored ${d.stored}, ledger ${d.ledger}${rebuild ? ' (rebuilt)' : ''}`,
        );
      }
      console.log(
        drift.length === 0 ? 'balances equal the ledger' : `${drift.length} balance(s) differed`,
      );
      return drift.length === 0 || rebuild ? 0 : 1;
    },
  );
}

runScript(main);
