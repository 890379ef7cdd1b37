import { isUUID } from 'class-validator';
import { Controller, Inject, UseGuards } from '@nestjs/common';
import { GrpcMethod, RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import {
  CLOSE_LEASES_MAX,
  ENTITLEMENT_GRPC_SERVICE,
  type CheckRequest,
  type CloseLeasesRequest,
  type CloseLeasesResponse,
  type CheckResponse,
  type ClaimSettlementsRequest,
  type ClaimSettlementsResponse,
  type CompleteSettlementRequest,
  type CompleteSettlementResponse,
  type RecordPaymentRequest,
  type RecordPaymentResponse,
  type ReleaseRequest,
  type ReleaseResponse,
} from '@paygate/contracts';
import { counter } from '@paygate/observability';
import { DomainError } from '@paygate/problem-details';
import { DataSource } from 'typeorm';
import { BillingLinks } from '../billing/billing-links';
import { PaymentSettlementsUseCase } from '../direct-payments/payment-settlements.use-case';
import { RecordPaymentUseCase } from '../direct-payments/record-payment.use-case';
import { CheckUseCase } from './check.use-case';
import { Decision } from './decision';
import { LeaseSettlementService } from '../leases/lease-settlement.service';
import { GrpcTokenGuard } from '../grpc/grpc-token.guard';

/** Feature and plan keys. */
const FEATURE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const decisions = counter('paygate_decisions_total', 'Check decisions by outcome', ['outcome']);

function invalid(message: string): RpcException {
  return new RpcException({ code: status.INVALID_ARGUMENT, message });
}

/** gRPC status of each domain error code; other errors are left to Nest (UNKNOWN). */
const DOMAIN_STATUS: Record<DomainError['code'], status> = {
  'validation-failed': status.INVALID_ARGUMENT,
  'not-found': status.NOT_FOUND,
  conflict: status.ALREADY_EXISTS,
  forbidden: status.PERMISSION_DENIED,
};

/** A DomainError as the RpcException of its gRPC status; any other error as it is. */
export function toRpc(err: unknown): unknown {
  return err instanceof DomainError
    ? new RpcException({ code: DOMAIN_STATUS[err.code], message: err.message })
    : err;
}

/** The gRPC edge: validates payloads, delegates, and maps decisions to the wire shape. */
@Controller()
// GRPC_TOKENS, when set: checked before any handler of the port runs.
@UseGuards(GrpcTokenGuard)
export class EntitlementGrpcController {
  constructor(
    private readonly checkUseCase: CheckUseCase,
    private readonly settlement: LeaseSettlementService,
    @Inject(DataSource) private readonly dataSource: DataSource,
    private readonly links: BillingLinks,
    private readonly recordPaymentUseCase: RecordPaymentUseCase,
    private readonly paymentSettlements: PaymentSettlementsUseCase,
  ) {}

  @GrpcMethod(ENTITLEMENT_GRPC_SERVICE, 'Check')
  async check(request: CheckRequest): Promise<CheckResponse> {
    const callers = [request.apiKey, request.customerId, request.payerPlan].filter(Boolean);
    if (callers.length !== 1)
      throw invalid('exactly one of apiKey, customerId and payerPlan is required');
    if (request.apiKey && request.apiKey.length > 512)
      throw invalid('apiKey must be at most 512 characters');
    if (request.customerId && !isUUID(request.customerId))
      throw invalid('customerId must be a UUID');
    if (request.payerPlan && !FEATURE.test(request.payerPlan))
      throw invalid('payerPlan must be a plan key');
    if (request.payerAccount && request.payerAccount.length > 330)
      throw invalid('payerAccount must be at most 330 characters');
    if (!FEATURE.test(request.feature ?? '')) throw invalid('feature must be a feature key');
    if (!Number.isSafeInteger(request.cost) || request.cost < 0)
      throw invalid('cost must be a non-negative integer');
    if (!request.requestId || request.requestId.length > 128)
      throw invalid('requestId is required');
    const leaseUnits = request.leaseUnits ?? 0;
    if (!Number.isSafeInteger(leaseUnits) || leaseUnits < 0)
      throw invalid('leaseUnits must be a non-negative integer');
    const decision = await this.checkUseCase.execute({
      apiKey: request.apiKey,
      ...(request.customerId ? { customerId: request.customerId } : {}),
      ...(request.payerPlan ? { payerPlan: request.payerPlan } : {}),
      ...(request.payerPlan && request.payerAccount ? { payerAccount: request.payerAccount } : {}),
      feature: request.feature,
      cost: request.cost,
      requestId: request.requestId,
      requiredScopes: request.requiredScopes ?? [],
      leaseUnits: Math.max(leaseUnits, request.cost),
    });
    decisions.inc({ outcome: decision.allowed ? 'allowed' : decision.denial.code });
    return this.toResponse(decision);
  }

  @GrpcMethod(ENTITLEMENT_GRPC_SERVICE, 'Release')
  async release(request: ReleaseRequest): Promise<ReleaseResponse> {
    if (!isUUID(request.leaseId ?? '')) throw invalid('leaseId must be a UUID');
    const units = request.units ?? 0;
    if (!Number.isSafeInteger(units) || units < 0)
      throw invalid('units must be a non-negative integer');
    const reason = (request.reason || 'released by gateway').slice(0, 200);
    const releaseId = request.releaseId ?? '';
    if (releaseId.length > 128) throw invalid('releaseId must be at most 128 characters');
    // A close that gives nothing back is a single statement: no transaction around it.
    const released =
      request.close && units === 0
        ? await this.settlement.close(this.dataSource.manager, request.leaseId, reason, 0)
        : await this.dataSource.transaction((manager) =>
            request.close
              ? this.settlement.close(manager, request.leaseId, reason, units)
              : this.settlement.release(manager, request.leaseId, reason, units, releaseId),
          );
    return { released };
  }

  /** Used-up leases a gateway closes together: one statement for the batch. */
  @GrpcMethod(ENTITLEMENT_GRPC_SERVICE, 'CloseLeases')
  async closeLeases(request: CloseLeasesRequest): Promise<CloseLeasesResponse> {
    const ids = request.leaseIds ?? [];
    if (ids.length > CLOSE_LEASES_MAX)
      throw invalid(`leaseIds must name at most ${CLOSE_LEASES_MAX} leases`);
    const bad = ids.findIndex((id) => !isUUID(id));
    if (bad >= 0) throw invalid(`leaseIds[${bad}] must be a UUID`);
    const closed = await this.settlement.closeMany(this.dataSource.manager, ids);
    return { closed };
  }

  /** Domain errors (bad fields, unknown customer, balance bound) map to gRPC status codes. */
  @GrpcMethod(ENTITLEMENT_GRPC_SERVICE, 'RecordPayment')
  async recordPayment(request: RecordPaymentRequest): Promise<RecordPaymentResponse> {
    try {
      // The use case checks every field: a new authorization's hold against its own clock.
      return await this.recordPaymentUseCase.execute(request);
    } catch (err) {
      throw toRpc(err);
    }
  }

  @GrpcMethod(ENTITLEMENT_GRPC_SERVICE, 'ClaimSettlements')
  async claimSettlements(request: ClaimSettlementsRequest): Promise<ClaimSettlementsResponse> {
    try {
      const claimed = await this.paymentSettlements.claim(request.limit, request.claimSeconds);
      return { settlements: claimed };
    } catch (err) {
      throw toRpc(err);
    }
  }

  @GrpcMethod(ENTITLEMENT_GRPC_SERVICE, 'CompleteSettlement')
  async completeSettlement(
    request: CompleteSettlementRequest,
  ): Promise<CompleteSettlementResponse> {
    try {
      return { completed: await this.paymentSettlements.complete(request) };
    } catch (err) {
      throw toRpc(err);
    }
  }

  private toResponse(decision: Decision): CheckResponse {
    const customerId = decision.customerId ?? '';
    if (decision.allowed) {
      return {
        allowed: true,
        customerId,
        leaseId: decision.leaseId ?? '',
        leaseUnits: decision.leaseUnits ?? 0,
        plan: decision.plan,
        denial: null,
        warnings: (decision.warnings ?? []).map((w) => ({
          code: w.code,
          until: w.until ? w.until.toISOString() : '',
          used: w.used,
          limit: w.limit,
        })),
        rateLimit: decision.rateLimit ?? null,
        concurrencyLimit: decision.concurrencyLimit ?? 0,
        readSnapshot: decision.readSnapshot ?? '',
        readDatabaseRun: decision.readDatabaseRun ?? '',
      };
    }
    const d = decision.denial;
    const link =
      customerId && d.code !== 'unauthenticated'
        ? this.links.linkFor(customerId, d.code, d.required)
        : '';
    return {
      allowed: false,
      customerId,
      leaseId: '',
      plan: d.plan ?? '',
      warnings: [],
      denial: {
        code: d.code,
        plan: d.plan ?? '',
        feature: d.feature ?? '',
        balance: d.balance,
        required: d.required,
        limit: d.limit,
        used: d.used,
        resetsAt: d.resetsAt ? d.resetsAt.toISOString() : '',
        link,
      },
    };
  }
}
