import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { DomainError } from '@paygate/problem-details';
import { DataSource, IsNull } from 'typeorm';
import { EntitlementChanges } from '../changes/entitlement-changes';
import { CustomersService } from '../customers/customers.service';
import { ApiKey } from './api-key.entity';
import { CreateApiKeyDto } from './api-key.dto';
import { generateApiKey } from './api-key-hash';
import { CreatedApiKey } from './created-api-key';

export { CreatedApiKey };

@Injectable()
export class ApiKeysService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly customers: CustomersService,
    private readonly changes: EntitlementChanges,
    @Inject(Clock) private readonly clock: Clock,
  ) {}

  async create(customerId: string, dto: CreateApiKeyDto): Promise<CreatedApiKey> {
    await this.customers.get(customerId);
    // A key dead before it is handed out is a mistake (a year typed wrong), as for a grant.
    if (dto.expiresAt && new Date(dto.expiresAt) <= this.clock.now())
      throw new DomainError('validation-failed', 'expiresAt must be in the future.', {
        errors: [{ field: 'expiresAt', messages: ['must be in the future'] }],
      });
    const { key, prefix, hash } = generateApiKey();
    const saved = await this.dataSource.transaction(async (manager) => {
      const key = await manager.save(
        manager.create(ApiKey, {
          customerId,
          name: dto.name ?? null,
          prefix,
          keyHash: hash,
          scopes: dto.scopes ?? [],
          expiresAt: dto.expiresAt ? new Date(dto.expiresAt) : null,
          revokedAt: null,
        }),
      );
      await this.changes.record(manager, customerId, 'api-key-created', { apiKeyId: key.id });
      return key;
    });
    return new CreatedApiKey(saved.id, customerId, key, prefix, saved.scopes, saved.expiresAt);
  }

  list(customerId: string): Promise<ApiKey[]> {
    return this.dataSource
      .getRepository(ApiKey)
      .find({ where: { customerId }, order: { createdAt: 'DESC' } });
  }

  /** Revoking twice is harmless; an unknown id is a 404. */
  async revoke(id: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      const key = await manager.findOneBy(ApiKey, { id });
      if (!key) throw new DomainError('not-found', `API key ${id} does not exist.`);
      const { affected } = await manager.update(
        ApiKey,
        { id, revokedAt: IsNull() },
        { revokedAt: new Date() },
      );
      if (affected)
        await this.changes.record(manager, key.customerId, 'api-key-revoked', { apiKeyId: id });
    });
  }
}
