import { Controller, UseGuards } from '@nestjs/common';
import { GrpcMethod } from '@nestjs/microservices';
import {
  ENTITLEMENT_GRPC_SERVICE,
  type TakeRateWindowRequest,
  type TakeRateWindowResponse,
} from '@paygate/contracts';
import { toRpc } from '../decisions/entitlement.grpc.controller';
import { TakeRateWindowUseCase } from './take-rate-window.use-case';
import { GrpcTokenGuard } from '../grpc/grpc-token.guard';

/**
 * TakeRateWindow of the entitlement gRPC service (the other methods are
 * EntitlementGrpcController's; Nest serves a service's methods from any of its controllers).
 */
@Controller()
// GRPC_TOKENS, when set: checked before any handler of the port runs.
@UseGuards(GrpcTokenGuard)
export class RateWindowsGrpcController {
  constructor(private readonly takeRateWindowUseCase: TakeRateWindowUseCase) {}

  /** Bad fields map to INVALID_ARGUMENT, each named. */
  @GrpcMethod(ENTITLEMENT_GRPC_SERVICE, 'TakeRateWindow')
  async takeRateWindow(request: TakeRateWindowRequest): Promise<TakeRateWindowResponse> {
    try {
      return await this.takeRateWindowUseCase.execute(request);
    } catch (err) {
      throw toRpc(err);
    }
  }
}
