import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@paygate/problem-details';
import { DataSource } from 'typeorm';
import { CreatePlanDto } from './plan.dto';
import { PlanFeature } from './plan.entity';
import { Plan } from './plan.entity';
import { plans } from './plans.repository';

@Injectable()
export class PlansService {
  constructor(@Inject(DataSource) private readonly dataSource: DataSource) {}

  /** Creating a plan with an existing key makes its next version; old versions stay as they were. */
  async create(dto: CreatePlanDto): Promise<Plan> {
    const keys = dto.features.map((f) => f.key);
    if (new Set(keys).size !== keys.length) {
      throw new DomainError('validation-failed', 'Feature keys must be unique within a plan.', {
        errors: [{ field: 'features', messages: ['feature keys must be unique'] }],
      });
    }
    return this.dataSource.transaction(async (manager) => {
      // Serialises concurrent creations of the same plan key so versions stay gapless.
      await plans.lockKey(manager, dto.key);
      const next = await plans.nextVersion(manager, dto.key);
      const plan = manager.create(Plan, {
        key: dto.key,
        name: dto.name,
        version: next,
        features: dto.features.map((f) =>
          manager.create(PlanFeature, {
            featureKey: f.key,
            kind: f.kind,
            meterKey: f.kind === 'metered' ? (f.meterKey ?? null) : null,
            includedUnits: f.includedUnits ?? 0,
            limitPolicy: f.limitPolicy ?? 'block',
            unitPrice: f.unitPrice ?? 1,
            usagePeriod: f.usagePeriod ?? 'billing',
            softLimitPercent: f.softLimitPercent ?? null,
            rateLimitRequests: f.rateLimitRequests ?? null,
            rateLimitWindowSeconds: f.rateLimitWindowSeconds ?? null,
            concurrencyLimit: f.concurrencyLimit ?? null,
          }),
        ),
      });
      return manager.save(plan);
    });
  }

  async get(id: string): Promise<Plan> {
    const plan = await this.dataSource.getRepository(Plan).findOneBy({ id });
    if (!plan) throw new DomainError('not-found', `Plan ${id} does not exist.`);
    return plan;
  }

  list(): Promise<Plan[]> {
    return this.dataSource.getRepository(Plan).find({ order: { key: 'ASC', version: 'DESC' } });
  }
}
