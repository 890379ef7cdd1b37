import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@paygate/clock';
import { PROBLEM_CODES, type ProblemCode } from '@paygate/contracts';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EntitlementConfig } from '../config/entitlement.config';

const TOKEN_VERSION = 1;
const TOKEN_BYTES = 26;

export interface BillingLinkClaims {
  customerId: string;
  /** Why the customer was sent: the problem code of the refusal. */
  code: ProblemCode;
  /** What the refused request needed (credits or units), when the refusal said. */
  required?: number;
}

/**
 * Signed, expiring billing links (HMAC-SHA256): a 402's `link` opens the customer's billing
 * page without a login, and knowing a customer id alone opens nothing.
 */
@Injectable()
export class BillingLinks {
  private readonly secret: Buffer;

  constructor(
    @Inject(EntitlementConfig)
    private readonly config: Pick<
      EntitlementConfig,
      | 'BILLING_LINK_SECRET'
      | 'ADMIN_TOKEN'
      | 'BILLING_PORTAL_URL_TEMPLATE'
      | 'BILLING_LINK_TTL_SECONDS'
    >,
    @Inject(Clock) private readonly clock: Clock,
  ) {
    // Without a secret of its own, one derived from the admin token (never the token itself).
    this.secret = this.config.BILLING_LINK_SECRET
      ? Buffer.from(this.config.BILLING_LINK_SECRET)
      : createHmac('sha256', this.config.ADMIN_TOKEN).update('paygate billing links').digest();
  }

  /** The URL a refusal's `link` points to. */
  linkFor(customerId: string, code: ProblemCode, required?: number): string {
    return this.config.BILLING_PORTAL_URL_TEMPLATE.replace(
      '{token}',
      this.tokenFor({ customerId, code, required }),
    ).replace('{customerId}', encodeURIComponent(customerId));
  }

  /**
   * Compact, so links stay short: version, customer UUID, the code's index, the expiry
   * (seconds, uint32) and what was required (uint32, 0 when unknown) in 26 bytes, then 128
   * bits of HMAC-SHA256; both base64url.
   */
  tokenFor(claims: BillingLinkClaims): string {
    const expires =
      Math.floor(this.clock.now().getTime() / 1000) + this.config.BILLING_LINK_TTL_SECONDS;
    const bytes = Buffer.alloc(TOKEN_BYTES);
    bytes.writeUInt8(TOKEN_VERSION, 0);
    Buffer.from(claims.customerId.replace(/-/g, ''), 'hex').copy(bytes, 1);
    // By index: PROBLEM_CODES only ever grows at its end, so links in flight keep their meaning.
    bytes.writeUInt8(PROBLEM_CODES.indexOf(claims.code), 17);
    bytes.writeUInt32BE(expires, 18);
    bytes.writeUInt32BE(Math.min(Math.max(claims.required ?? 0, 0), 0xffffffff), 22);
    const payload = bytes.toString('base64url');
    return `${payload}.${this.sign(payload)}`;
  }

  /** The claims of a genuine, unexpired token; undefined otherwise. */
  verify(token: string): BillingLinkClaims | undefined {
    const [payload, signature, extra] = token.split('.');
    if (!payload || !signature || extra !== undefined) return undefined;
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
    const bytes = Buffer.from(payload, 'base64url');
    if (bytes.length !== TOKEN_BYTES || bytes.readUInt8(0) !== TOKEN_VERSION) return undefined;
    if (bytes.readUInt32BE(18) < this.clock.now().getTime() / 1000) return undefined;
    const code = PROBLEM_CODES[bytes.readUInt8(17)];
    if (code === undefined) return undefined;
    const hex = bytes.subarray(1, 17).toString('hex');
    const customerId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    const required = bytes.readUInt32BE(22);
    return { customerId, code, ...(required > 0 ? { required } : {}) };
  }

  /**
   * The CSRF token of one rendered form of this billing page: UUID-shaped (it is also the
   * payment's idempotency key, the form's `nonce`), 64 random bits and 62 bits of
   * HMAC-SHA256 over them and the page's billing token. Only this service can make one, and
   * one made for another customer's (or an expired) link is refused.
   */
  formToken(billingToken: string): string {
    const bytes = Buffer.alloc(16);
    randomBytes(8).copy(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40; // UUID version 4
    this.formMac(billingToken, bytes.subarray(0, 8)).copy(bytes, 8);
    const hex = bytes.toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  /** Whether formToken made this token for this billing token. */
  verifyFormToken(billingToken: string, formToken: string): boolean {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(formToken))
      return false;
    const bytes = Buffer.from(formToken.replace(/-/g, ''), 'hex');
    return timingSafeEqual(this.formMac(billingToken, bytes.subarray(0, 8)), bytes.subarray(8));
  }

  private formMac(billingToken: string, random: Buffer): Buffer {
    const mac = createHmac('sha256', this.secret)
      .update('paygate billing form\n')
      .update(billingToken)
      .update('\n')
      .update(random)
      .digest()
      .subarray(0, 8);
    mac[0] = (mac[0] & 0x3f) | 0x80; // UUID variant
    return mac;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.secret)
      .update(payload)
      .digest()
      .subarray(0, 16)
      .toString('base64url');
  }
}
