import type { Logger } from '@nestjs/common';

/**
 * How long a call the service took vouches for the token: /ready asks the service itself only
 * past this, so a gateway with traffic adds no calls for it.
 */
const TOKEN_TAKEN_FRESH_MS = 10_000;

/**
 * Whether the entitlement service takes this gateway's ENTITLEMENT_GRPC_TOKEN: what the
 * client's calls tell, for its logs and /ready. Invariants: `refused` is set only by a call the
 * service answered UNAUTHENTICATED, and cleared only by a call it took; each refusal is logged
 * once when it starts, not per call (every call is refused alike until it is fixed), and its
 * end once; the token is vouched for only while not refused and for TOKEN_TAKEN_FRESH_MS after
 * a call was taken. Only whether a token is set is kept here, never the token (nor logged).
 */
export class TokenState {
  /** The last call the service answered was refused UNAUTHENTICATED (a taken call clears it). */
  private refused = false;
  /** When the service last took a call (0: never yet). */
  private takenAt = 0;

  /**
   * `tokenSet`: the calls carry a token (ENTITLEMENT_GRPC_TOKEN is set), which the refusal's
   * words tell apart from none at all.
   */
  constructor(
    private readonly logger: Pick<Logger, 'log' | 'error'>,
    private readonly tokenSet: boolean,
  ) {}

  /**
   * A call was taken within TOKEN_TAKEN_FRESH_MS and none refused since: /ready need not ask
   * the service.
   */
  get takenLately(): boolean {
    return !this.refused && Date.now() - this.takenAt < TOKEN_TAKEN_FRESH_MS;
  }

  /** Why /ready fails while the service refuses the token (until it takes a call). */
  get refusal(): string | undefined {
    if (!this.refused) return undefined;
    return `the entitlement service refuses this gateway's ENTITLEMENT_GRPC_TOKEN (${
      this.tokenSet ? 'not one of its GRPC_TOKENS' : 'unset'
    })`;
  }

  /** The service took a call: the token is vouched for from now, a refusal over (logged). */
  taken(): void {
    this.takenAt = Date.now();
    if (!this.refused) return;
    this.refused = false;
    this.logger.log('The entitlement service takes ENTITLEMENT_GRPC_TOKEN again');
  }

  /** The service refused a call UNAUTHENTICATED: logged once per refusal, not per call. */
  refusedNow(): void {
    if (this.refused) return;
    this.refused = true;
    this.logger.error(
      `The entitlement service refuses this gateway's calls (UNAUTHENTICATED): ${
        this.tokenSet
          ? 'ENTITLEMENT_GRPC_TOKEN is not one of its GRPC_TOKENS'
          : 'it requires a token and ENTITLEMENT_GRPC_TOKEN is unset'
      }. Until it takes the token, requests it must ask about are answered 503 (no route fails ` +
        'open on it) and /ready fails',
    );
  }
}
