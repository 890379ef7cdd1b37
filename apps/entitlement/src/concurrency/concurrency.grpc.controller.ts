import { Controller, UseGuards } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import {
  ENTITLEMENT_GRPC_SERVICE,
  type HoldConcurrencyRequest,
  type HoldConcurrencyResponse,
} from '@paygate/contracts';
import { toRpc } from '../decisions/entitlement.grpc.controller';
import { HoldConcurrencyUseCase } from './hold-concurrency.use-case';
import { GrpcTokenGuard } from '../grpc/grpc-token.guard';

/**
 * HoldConcurrency of the entitlement gRPC service (the other methods are other controllers';
 * Nest serves a service's methods from any of its controllers).
 */
@Controller()
// GRPC_TOKENS, when set: checked before any handler of the port runs.
@UseGuards(GrpcTokenGuard)
export class ConcurrencyGrpcController {
  constructor(private readonly holdConcurrencyUseCase: HoldConcurrencyUseCase) {}

  /** Bad fields map to INVALID_ARGUMENT, each named. */
  @GrpcMethod(ENTITLEMENT_GRPC_SERVICE, 'HoldConcurrency')
  async holdConcurrency(request: HoldConcurrencyRequest): Promise<HoldConcurrencyResponse> {
    try {
      return await this.holdConcurrencyUseCase.execute(request);
    } catch (err) {
      throw toRpc(err);
    }
  }
}
