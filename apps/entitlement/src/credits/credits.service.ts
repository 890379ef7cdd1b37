import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { EntitlementChanges } from '../changes/entitlement-changes';
import { CustomersService } from '../customers/customers.service';
import { CreateGrantDto } from './credit.dto';
import { BalanceView, LedgerEntryView, LedgerService } from './ledger.service';

@Injectable()
export class CreditsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly customers: CustomersService,
    private readonly changes: EntitlementChanges,
  ) {}

  async grant(
    customerId: string,
    dto: CreateGrantDto,
    idempotencyKey?: string,
  ): Promise<{ entry: LedgerEntryView; replayed: boolean }> {
    await this.customers.get(customerId);
    const requestHash = createHash('sha256')
      .update(JSON.stringify([customerId, dto.amount, dto.description ?? null]))
      .digest('hex');
    return this.dataSource.transaction(async (manager) => {
      const result = await this.ledger.append(manager, {
        customerId,
        type: 'grant',
        amount: dto.amount,
        idempotencyKey: `grant:${idempotencyKey ?? randomUUID()}`,
        requestHash,
        description: dto.description,
      });
      if (!result.replayed) await this.changes.record(manager, customerId, 'credits-granted');
      return result;
    });
  }

  async balance(customerId: string): Promise<BalanceView> {
    await this.customers.get(customerId);
    return this.ledger.balance(customerId);
  }

  async history(
    customerId: string,
    limit = 50,
    before?: number,
  ): Promise<{ entries: LedgerEntryView[]; next?: number }> {
    await this.customers.get(customerId);
    const entries = await this.ledger.history(customerId, limit, before);
    return { entries, next: entries.length === limit ? entries[entries.length - 1].id : undefined };
  }
}
