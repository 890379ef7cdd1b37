import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { Clock } from '@paygate/clock';
import { DomainError } from '@paygate/problem-details';
import { CustomersService } from '../customers/customers.service';
import { CreateGrantDto } from './credit.dto';
import { GrantView, GrantsService } from './grants.service';
import { ExactBalanceView, LedgerEntryView, LedgerService } from './ledger.service';

@Injectable()
export class CreditsService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly ledger: LedgerService,
    private readonly customers: CustomersService,
    private readonly grants: GrantsService,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async grant(
    customerId: string,
    dto: CreateGrantDto,
    idempotencyKey?: string,
  ): Promise<{ grant: GrantView; replayed: boolean }> {
    await this.customers.get(customerId);
    const effectiveAt = dto.effectiveAt ? new Date(dto.effectiveAt) : undefined;
    const expiresAt = dto.expiresAt ? new Date(dto.expiresAt) : undefined;
    if (expiresAt && expiresAt <= (effectiveAt ?? this.clock.now())) {
      throw new DomainError(
        'validation-failed',
        'expiresAt must be after the grant takes effect.',
        {
          errors: [{ field: 'expiresAt', messages: ['must be after effectiveAt (or now)'] }],
        },
      );
    }
    const source = dto.source ?? 'manual';
    const priority = dto.priority ?? 100;
    const requestHash = createHash('sha256')
      .update(
        JSON.stringify([
          customerId,
          dto.amount,
          dto.description ?? null,
          source,
          priority,
          dto.effectiveAt ?? null,
          dto.expiresAt ?? null,
        ]),
      )
      .digest('hex');
    return this.dataSource.transaction((manager) =>
      this.grants.create(manager, {
        customerId,
        amount: dto.amount,
        source,
        priority,
        effectiveAt,
        expiresAt,
        idempotencyKey: `grant:${idempotencyKey ?? randomUUID()}`,
        requestHash,
        description: dto.description,
      }),
    );
  }

  async listGrants(customerId: string): Promise<GrantView[]> {
    await this.customers.get(customerId);
    return this.dataSource.transaction(async (manager) => {
      await this.grants.settleDue(manager, customerId);
      return this.grants.list(manager, customerId);
    });
  }

  /** Exact: JSON numbers within ±(2^53 − 1), decimal strings beyond (see MAX_BALANCE). */
  async balance(customerId: string): Promise<ExactBalanceView> {
    await this.customers.get(customerId);
    // Expiries and effective dates that passed since the last change apply before reading.
    await this.dataSource.transaction((manager) => this.grants.settleDue(manager, customerId));
    return this.ledger.exactBalance(customerId);
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
