import { Body, Controller, Delete, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, UuidParam } from '@paygate/http';
import { ApiKey } from './api-key.entity';
import { CreateApiKeyDto } from './api-key.dto';
import { ApiKeysService } from './api-keys.service';
import type { ApiKeyWithSecret } from './created-api-key';

@Controller('v1')
@UseGuards(AdminTokenGuard)
export class ApiKeysController {
  constructor(private readonly keys: ApiKeysService) {}

  /**
   * The key's secret is in this response only. A replay with the same Idempotency-Key answers
   * `key: null`, `keyRedacted: true` and a `redaction` note instead (CreatedApiKey).
   */
  @Post('customers/:customerId/api-keys')
  create(
    @Param('customerId', UuidParam) customerId: string,
    @Body() dto: CreateApiKeyDto,
  ): Promise<ApiKeyWithSecret> {
    return this.keys.create(customerId, dto);
  }

  @Get('customers/:customerId/api-keys')
  list(@Param('customerId', UuidParam) customerId: string): Promise<ApiKey[]> {
    return this.keys.list(customerId);
  }

  @Delete('api-keys/:id')
  @HttpCode(204)
  revoke(@Param('id', UuidParam) id: string): Promise<void> {
    return this.keys.revoke(id);
  }
}
