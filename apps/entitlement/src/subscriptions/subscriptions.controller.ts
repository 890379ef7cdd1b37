import { Body, Controller, Get, Param, Patch, Post, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, UuidParam } from '@paygate/http';
import { CreateSubscriptionDto, UpdateSubscriptionDto } from './subscription.dto';
import { Subscription } from './subscription.entity';
import { SubscriptionsService } from './subscriptions.service';

@Controller('v1')
@UseGuards(AdminTokenGuard)
export class SubscriptionsController {
  constructor(private readonly subscriptions: SubscriptionsService) {}

  /**
   * The new subscription replaces the customer's live one (any status but canceled or expired),
   * which is canceled in the same transaction: a customer has at most one live subscription,
   * and creates sent at once each replace the one before.
   */
  @Post('customers/:customerId/subscriptions')
  create(
    @Param('customerId', UuidParam) customerId: string,
    @Body() dto: CreateSubscriptionDto,
  ): Promise<Subscription> {
    return this.subscriptions.create(customerId, dto);
  }

  @Get('customers/:customerId/subscriptions')
  list(@Param('customerId', UuidParam) customerId: string): Promise<Subscription[]> {
    return this.subscriptions.list(customerId);
  }

  /**
   * A status that brings an ended subscription back (canceled or expired to any other) is a
   * 409 conflict while the customer has another live subscription.
   */
  @Patch('subscriptions/:id')
  update(
    @Param('id', UuidParam) id: string,
    @Body() dto: UpdateSubscriptionDto,
  ): Promise<Subscription> {
    return this.subscriptions.update(id, dto);
  }
}
