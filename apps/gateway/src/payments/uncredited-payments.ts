import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import type { RecordPaymentRequest, RecordPaymentResponse } from '@paygate/contracts';
import { counter } from '@paygate/observability';
import {
  EntitlementClient,
  EntitlementRefusedError,
  EntitlementUnavailableError,
} from '../decisions/entitlement.client';

const uncredited = counter(
  'paygate_gateway_uncredited_payments_total',
  'Payments settled while the entitlement service could not credit them, by outcome',
  ['outcome'],
);

/** First retry after this long, doubling up to MAX_DELAY_MS, for at most GIVE_UP_MS. */
const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;
const GIVE_UP_MS = 15 * 60_000;
/** A payment credited in the background is kept this long for its request's retry. */
const KEEP_CREDITED_MS = 15 * 60_000;

interface Entry {
  /** The credential header as the request sent it: only the same bytes take this entry. */
  credential: string;
  record: RecordPaymentRequest;
  since: number;
  /** Set once the background credit went through. */
  credited?: RecordPaymentResponse;
  timer?: NodeJS.Timeout;
}

/** What a retried credential finds here. */
export type Uncredited =
  /** Settled, not credited yet: credit it with this (no second settlement). */
  | { kind: 'settled'; record: RecordPaymentRequest }
  /** Settled and credited in the background; no request used it yet. */
  | { kind: 'credited'; record: RecordPaymentRequest; response: RecordPaymentResponse };

/**
 * Payments this gateway settled that the entitlement service could not credit (it was down
 * between the settlement and the credit). A facilitator may refuse to settle a payment twice
 * (on chain the nonce is spent), so the settlement is never repeated: the credit is retried here
 * in the background until the service is back, and the request's own retry with the same
 * credential is credited (or served from the background's credit) without settling again.
 * In memory: a gateway that dies with entries here leaves them to the entitlement service's
 * journal (the payment was journaled before it was settled): once its claim lapses, the
 * settlement rounds of any gateway settle it again and credit it (see UptoSettlements). Every
 * entry is logged with its transaction when it is added, for the operator.
 */
@Injectable()
export class UncreditedPayments implements OnApplicationShutdown {
  private readonly logger = new Logger(UncreditedPayments.name);
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly entitlement: EntitlementClient) {}

  /** The entry for this payment, if the request sent exactly the credential that paid. */
  find(paymentId: string, credential: string): Uncredited | undefined {
    const entry = this.entries.get(paymentId);
    if (!entry || entry.credential !== credential) return undefined;
    return entry.credited
      ? { kind: 'credited', record: entry.record, response: entry.credited }
      : { kind: 'settled', record: entry.record };
  }

  /** The settlement's reference, when this gateway settled the payment and holds its credit. */
  transactionOf(paymentId: string): string | undefined {
    const entry = this.entries.get(paymentId);
    return entry && !entry.credited ? entry.record.transaction : undefined;
  }

  /** A settled payment whose credit failed for want of the service: retried from now on. */
  add(credential: string, record: RecordPaymentRequest): void {
    if (this.entries.has(record.paymentId)) return;
    const entry: Entry = { credential, record, since: Date.now() };
    this.entries.set(record.paymentId, entry);
    uncredited.inc({ outcome: 'pending' });
    this.logger.error(
      {
        paymentId: record.paymentId,
        customerId: record.customerId,
        transaction: record.transaction,
        credits: record.credits,
      },
      'payment settled but not credited yet: retrying',
    );
    this.schedule(entry, FIRST_DELAY_MS);
  }

  /** The request's retry credited it, or used the background's credit: forgotten. */
  done(paymentId: string): void {
    const entry = this.entries.get(paymentId);
    if (entry?.timer) clearTimeout(entry.timer);
    this.entries.delete(paymentId);
  }

  get size(): number {
    return this.entries.size;
  }

  onApplicationShutdown(): void {
    for (const entry of this.entries.values()) {
      if (entry.timer) clearTimeout(entry.timer);
      if (!entry.credited) {
        this.logger.error(
          { paymentId: entry.record.paymentId, transaction: entry.record.transaction },
          'shutting down with a settled payment not credited: credit it by hand',
        );
      }
    }
  }

  private schedule(entry: Entry, delayMs: number): void {
    entry.timer = setTimeout(() => void this.attempt(entry, delayMs), delayMs);
    entry.timer.unref();
  }

  private async attempt(entry: Entry, delayMs: number): Promise<void> {
    if (this.entries.get(entry.record.paymentId) !== entry) return;
    try {
      entry.credited = await this.entitlement.recordPayment(entry.record);
      entry.timer = setTimeout(() => this.forget(entry), KEEP_CREDITED_MS);
      entry.timer.unref();
      uncredited.inc({ outcome: 'credited' });
      this.logger.log(
        { paymentId: entry.record.paymentId, replayed: entry.credited.replayed },
        'payment credited after the entitlement service came back',
      );
    } catch (err) {
      const gaveUp = Date.now() - entry.since >= GIVE_UP_MS;
      if (err instanceof EntitlementUnavailableError && !gaveUp) {
        this.schedule(entry, Math.min(MAX_DELAY_MS, delayMs * 2));
        return;
      }
      uncredited.inc({ outcome: err instanceof EntitlementRefusedError ? 'refused' : 'gave-up' });
      this.logger.error(
        {
          paymentId: entry.record.paymentId,
          transaction: entry.record.transaction,
          err: (err as Error).message,
        },
        'settled payment could not be credited: credit it by hand',
      );
      this.entries.delete(entry.record.paymentId);
    }
  }

  private forget(entry: Entry): void {
    if (this.entries.get(entry.record.paymentId) === entry) {
      this.entries.delete(entry.record.paymentId);
    }
  }
}
