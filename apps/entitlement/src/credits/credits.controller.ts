import {
  Body,
  Controller,
  Get,
  Headers,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
  UseGuards,
} from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { AdminTokenGuard } from '@paygate/http';
import { CreateGrantDto, LedgerQueryDto } from './credit.dto';
import { CreditsService } from './credits.service';
import { GrantView } from './grants.service';
import { BalanceView, LedgerEntryView } from './ledger.service';

@Controller('v1/customers/:customerId')
@UseGuards(AdminTokenGuard)
export class CreditsController {
  constructor(private readonly credits: CreditsService) {}

  /**
   * Adds credits as a grant (priority, effective date, expiry). With an Idempotency-Key a
   * replay returns the first response; the same key with another body is a 409.
   */
  @Post('grants')
  async grant(
    @Param('customerId', ParseUUIDPipe) customerId: string,
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
  grants(@Param('customerId', ParseUUIDPipe) customerId: string): Promise<GrantView[]> {
    return this.credits.listGrants(customerId);
  }

  @Get('balance')
  balance(@Param('customerId', ParseUUIDPipe) customerId: string): Promise<BalanceView> {
    return this.credits.balance(customerId);
  }

  @Get('ledger')
  ledger(
    @Param('customerId', ParseUUIDPipe) customerId: string,
    @Query() query: LedgerQueryDto,
  ): Promise<{ entries: LedgerEntryView[]; next?: number }> {
    return this.credits.history(customerId, query.limit, query.before);
  }
}
