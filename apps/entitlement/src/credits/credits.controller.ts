import { Body, Controller, Get, Headers, Param, Post, Query, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AdminTokenGuard, UuidParam } from '@paygate/http';
import { CreateGrantDto, LedgerQueryDto } from './credit.dto';
import { CreditsService } from './credits.service';
import { GrantView } from './grants.service';
import { ExactBalanceView, LedgerEntryView } from './ledger.service';

@Controller('v1/customers/:customerId')
@UseGuards(AdminTokenGuard)
export class CreditsController {
  constructor(private readonly credits: CreditsService) {}

  /**
   * Adds credits as a grant (priority, effective date, expiry). With an Idempotency-Key a
   * replay returns the first response; the same key with another body is a 409. A grant that
   * would take the balance (with reserved and not yet effective credits) past MAX_BALANCE,
   * 2^53 − 1, is a 400 validation-failed naming `amount`, the bound and the balance.
   */
  @Post('grants')
  async grant(
    @Param('customerId', UuidParam) customerId: string,
    @Body() dto: CreateGrantDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<GrantView> {
    // The key's format is checked by IdempotencyInterceptor, which also replays responses.
    const { grant, replayed } = await this.credits.grant(customerId, dto, idempotencyKey);
    void reply.status(replayed ? 200 : 201);
    if (replayed) void reply.header('idempotent-replayed', 'true');
    return grant;
  }

  /** Grants in burn order, expired ones last. */
  @Get('grants')
  grants(@Param('customerId', UuidParam) customerId: string): Promise<GrantView[]> {
    return this.credits.listGrants(customerId);
  }

  /** `available` and `reserved` are JSON numbers, or exact decimal strings past ±(2^53 − 1). */
  @Get('balance')
  balance(@Param('customerId', UuidParam) customerId: string): Promise<ExactBalanceView> {
    return this.credits.balance(customerId);
  }

  @Get('ledger')
  ledger(
    @Param('customerId', UuidParam) customerId: string,
    @Query() query: LedgerQueryDto,
  ): Promise<{ entries: LedgerEntryView[]; next?: number }> {
    return this.credits.history(customerId, query.limit, query.before);
  }
}
