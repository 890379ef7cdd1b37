import { type ChangeTransaction, type CheckResponse, decidedWith } from '@paygate/contracts';
import { type AdmissionRequest, bookKey, checkRequest } from './admission-request';
import { CustomerBooks } from './customer-books';
import { DemandMemory } from './demand-memory';
import { FirstAskNotes } from './first-ask-notes';
import { type HeldLease, LeaseBook, type Refill } from './lease-book';
import { madeWithAll, withChange } from './noted-changes';
import { RefillTime, renewalDue } from './renewal';
import { ReturnsInFlight, customerName, returnNames } from './returns-in-flight';
import type { LeaseCalls, LeasePoolOptions } from './lease-pool-options';
import { SweepSchedule } from './sweep-schedule';

export type { LeaseCalls, LeasePoolOptions } from './lease-pool-options';

const REMEMBER_DEMAND_MS = 60_000;

/**
 * Admits metered requests from leases: units the entitlement service reserved in its ledger
 * before any of them is used, so admission is exact (nothing is served that was not paid for)
 * while most requests make no remote call. One refill per key and feature is in flight at a
 * time; requests that arrive meanwhile wait for it. A lease is sized from the demand (what
 * waits now plus the recent rate), and the service shrinks it near the end of the balance.
 * Units a replica did not use go back after `idleMs`, on shutdown, or when the customer's
 * entitlements change; every lease is closed once it is left (see close), which tells the
 * service that the units it admitted were served. An allowed answer that reserves nothing (a boolean feature, a request
 * of cost 0) is kept the same way and admits alike requests of the key without a remote call.
 */
export class LeasePool {
  private readonly books = new Map<string, LeaseBook>();
  /**
   * Indexes, so what concerns one lease or one customer costs the same with a million keys
   * held as with ten (an upstream failure gives units back; a change drops a customer's books).
   */
  private readonly byLease = new Map<string, { book: LeaseBook; lease: HeldLease }>();
  private readonly customers = new CustomerBooks();
  /** Changes of customers while books no grant has named a customer for ask for their first. */
  private readonly firstAsks = new FirstAskNotes<LeaseBook>();
  /**
   * Books by when one of their leases may first be idle or old, or the empty book idle: a
   * sweep looks at the books that are due only. Admissions only push a deadline later, so a
   * book is never looked at later than its real deadline; a sweep that finds it not yet due
   * puts it back for its new deadline.
   */
  private readonly sweeps = new SweepSchedule<LeaseBook>();
  /** Units granted and not yet admitted, over every counted lease (kept as they change). */
  private held = 0;
  private readonly refillTime = new RefillTime();
  /** Units on their way back to the ledger: a refill of their book or customer waits for them. */
  private readonly returns = new ReturnsInFlight();
  /** What busy keys asked for before their books went idle (sizes the first lease after). */
  private readonly pastDemand: DemandMemory;

  constructor(
    private readonly calls: LeaseCalls,
    private readonly options: LeasePoolOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.pastDemand = new DemandMemory(options.rememberDemandMs ?? REMEMBER_DEMAND_MS);
  }

  /** An allowed answer (leaseId: the lease the request's units came from) or a refusal. */
  async admit(request: AdmissionRequest): Promise<CheckResponse> {
    // Requests of cost 0 keep their own book: an answer for them never admits a paid one.
    const key = bookKey(request);
    let book = this.books.get(key);
    if (!book) {
      book = new LeaseBook(key, Math.max(1, this.options.aheadMs));
      const past = this.pastDemand.recall(key, this.now());
      if (past !== undefined) book.resumeFrom(past);
      this.books.set(key, book);
      // An empty book goes once idle: looked at then.
      this.sweeps.schedule(book, this.now() + this.options.idleMs);
    }
    const cost = request.cost;
    book.noteDemand(cost, this.now());
    book.waitingUnits += cost;
    try {
      for (let attempt = 0; ; attempt++) {
        const taken = this.take(book, cost, request);
        if (taken) return taken;
        if (attempt === 0) this.options.onWait?.();
        const pending = book.refill;
        if (pending) {
          // A refusal for this cost or less is a refusal for this request too. A paid request
          // whose wait for an unpaid refill failed asks itself next turn, with its longer
          // deadline; a paid refill's failure is its waiters' too (no chain of deadlines).
          const outcome =
            request.paid && !pending.paid
              ? await pending.outcome.catch(() => undefined)
              : await pending.outcome;
          if (outcome && !outcome.allowed && cost >= pending.cost && !request.paid) return outcome;
          continue;
        }
        const outcome = await this.refill(book, request, cost);
        if (!outcome.allowed) return outcome;
      }
    } finally {
      book.waitingUnits -= cost;
    }
  }

  /**
   * The request's units from a lease this replica holds, when one has room: without a promise
   * or a wait, as most requests are admitted. Undefined when it would have to wait (then
   * `admit` asks); nothing is counted then, so `admit` counts the request once.
   */
  admitHeld(request: AdmissionRequest): CheckResponse | undefined {
    const book = this.books.get(bookKey(request));
    const cost = request.cost;
    if (!book || !this.usableLease(book, cost, this.now())) return undefined;
    book.noteDemand(cost, this.now());
    // As admit does: a renewal started by this admission is sized with it waiting.
    book.waitingUnits += cost;
    try {
      return this.take(book, cost, request);
    } finally {
      book.waitingUnits -= cost;
    }
  }

  /**
   * Units of an admitted request that was not served (upstream failed, rate limited, payment
   * refused): back to its lease when this replica still holds it, else to the ledger, and the
   * customer's next refill waits until they are there.
   */
  async giveBack(
    grant: Pick<CheckResponse, 'leaseId' | 'customerId'>,
    units: number,
    reason: string,
  ): Promise<void> {
    const held = this.byLease.get(grant.leaseId);
    if (held) {
      held.lease.admitted -= units;
      this.held += units;
      return;
    }
    const releasing = this.calls.release(grant.leaseId, units, reason);
    if (grant.customerId) this.returns.track([customerName(grant.customerId)], releasing);
    await releasing;
  }

  /** Returns units that sat unused too long; call it every few hundred milliseconds. */
  async sweep(): Promise<number> {
    const now = this.now();
    const due: Promise<number>[] = [];
    for (const book of this.sweeps.takeDue(now)) this.sweepBook(book, now, due);
    this.pastDemand.prune(now);
    return (await Promise.all(due)).reduce((a, b) => a + b, 0);
  }

  private sweepBook(book: LeaseBook, now: number, due: Promise<number>[]): void {
    const leases = book.leases;
    let next = Number.POSITIVE_INFINITY;
    // Backwards: close() takes the lease out of the array at once.
    for (let i = leases.length - 1; i >= 0; i--) {
      const lease = leases[i];
      const idleAt = lease.lastUsedAt + this.options.idleMs;
      const oldAt = lease.obtainedAt + this.options.maxAgeMs;
      if (now >= idleAt || now >= oldAt)
        due.push(this.close(book, lease, now >= idleAt ? 'idle' : 'lease age'));
      else next = Math.min(next, idleAt, oldAt);
    }
    if (book.leases.length === 0 && !book.refill && book.waitingUnits === 0) {
      if (now - book.lastActivity >= this.options.idleMs) {
        if (this.books.get(book.key) === book) {
          this.books.delete(book.key);
          this.pastDemand.remember(book.key, book.busyDemand(), now);
        }
        this.customers.remove(book);
        return;
      }
      next = Math.min(next, book.lastActivity + this.options.idleMs);
    }
    // Empty but busy (a refill or waiting requests): looked at again once it could be idle.
    this.sweeps.schedule(book, Number.isFinite(next) ? next : now + this.options.idleMs);
  }

  /**
   * Drops a customer's leases (their key or plan changed): next requests ask again.
   * `change`: the change's transaction (EntitlementChangedEvent), when it is known.
   */
  async forgetCustomer(
    customerId: string,
    reason: string,
    change?: ChangeTransaction,
  ): Promise<number> {
    this.firstAsks.forgot(customerId, change);
    return this.drop(this.customers.of(customerId), reason, change);
  }

  /** Gives every unused unit back (shutdown). */
  async releaseAll(reason: string): Promise<number> {
    return this.drop([...this.books.values()], reason);
  }

  /**
   * For a route that fails open, while the entitlement service cannot answer: admits a key
   * that was allowed within `maxAgeMs`, up to `maxUnits` per key and feature until the service
   * answers again. Nothing is reserved: the usage is charged when it arrives (possibly below
   * zero, by at most those units). Undefined when the key is not known well enough.
   */
  admitFailingOpen(
    request: AdmissionRequest,
    limits: { maxUnits: number; maxAgeMs: number },
  ): CheckResponse | undefined {
    const book = this.books.get(bookKey(request));
    const last = book?.lastGrant;
    if (!book || !last || this.now() - last.at > limits.maxAgeMs) return undefined;
    if (book.failOpenUnits + request.cost > limits.maxUnits) return undefined;
    book.failOpenUnits += request.cost;
    return { ...last.grant, leaseId: '', leaseUnits: 0 };
  }

  /**
   * Closes the books' leases for a change (its transaction when known; none: every lease goes),
   * but those made with it: a lease granted after the change (its event late) is kept. The
   * books stay (requests may be waiting on them); a grant in flight is kept only if it too was
   * made with every change that came while it was asked for (see ask).
   */
  private async drop(
    books: LeaseBook[],
    reason: string,
    change?: ChangeTransaction,
  ): Promise<number> {
    const kept = (grant: CheckResponse) => change !== undefined && decidedWith(grant, change);
    const due: Promise<number>[] = [];
    for (const book of books) {
      if (book.refill) book.droppedWhileAsked = withChange(book.droppedWhileAsked ?? [], change);
      if (book.lastGrant && !kept(book.lastGrant.grant)) book.lastGrant = undefined;
      for (const lease of [...book.leases])
        if (!kept(lease.grant)) due.push(this.close(book, lease, reason));
    }
    return (await Promise.all(due)).reduce((a, b) => a + b, 0);
  }

  /** Units granted to this replica and not yet admitted. */
  heldUnits(): number {
    return this.held;
  }

  private take(
    book: LeaseBook,
    cost: number,
    request: AdmissionRequest,
  ): CheckResponse | undefined {
    const now = this.now();
    const lease = this.usableLease(book, cost, now);
    if (!lease) return undefined;
    lease.admitted += cost;
    if (Number.isFinite(lease.units)) this.held -= cost;
    lease.lastUsedAt = now;
    // Used up: closed at once, so the service knows every unit of it was served.
    if (lease.admitted === lease.units) void this.close(book, lease, 'used up').catch(() => 0);
    this.renewEarly(book, request);
    return lease.grant;
  }

  /** A lease of the book with room for `cost` that is not too old to admit from. */
  private usableLease(book: LeaseBook, cost: number, now: number): HeldLease | undefined {
    for (const l of book.leases)
      if (l.units - l.admitted >= cost && now - l.obtainedAt < this.options.maxAgeMs) return l;
    return undefined;
  }

  /** Starts the book's next lease in the background when its leases are running out. */
  private renewEarly(book: LeaseBook, request: AdmissionRequest): void {
    if (book.refill) return;
    if (!renewalDue(book.leases, book.recentDemand(), this.refillTime.ms, this.now(), this.options))
      return;
    // A refusal here is not an answer to anyone; the next request that finds nothing asks again.
    // Not paid: a background renewal keeps a decision's deadline whoever started it.
    void this.refill(
      book,
      { ...request, cost: 1, requestId: `${request.requestId}:renew`, paid: false },
      1,
    ).catch(() => undefined);
  }

  private refill(book: LeaseBook, request: AdmissionRequest, cost: number): Promise<CheckResponse> {
    // A key seen for the first time gets what waits: most keys seen once (thousands of quiet
    // customers) send nothing more before a larger lease would go back unused, and a close that
    // gives units back costs the service a transaction of its own, about what the grant cost,
    // where the close of a lease used up is one statement. A key that goes on asking has a
    // recent demand by its next refill.
    const demand = book.unseen() ? book.waitingUnits : book.waitingUnits + book.recentDemand();
    const wanted = Math.max(cost, Math.min(this.options.maxUnits, demand));
    // Changes from here on concern this ask: dropping the book notes them on it, and for a book
    // no grant has tied to a customer yet, forgetting any customer notes them in firstAsks.
    book.droppedWhileAsked = undefined;
    const since = book.customerId === undefined ? this.firstAsks.begin(book) : undefined;
    const ask = () => this.ask(book, request, wanted, cost, since);
    let outcome: Promise<CheckResponse>;
    try {
      // Units this book or its customer is giving back are counted by the answer
      // (ReturnsInFlight).
      const returning = this.returns.settled(returnNames(book));
      outcome = returning ? returning.then(ask) : ask();
    } catch (err) {
      // As a failed ask: a caller that does not wait for it (a renewal) is not thrown at.
      outcome = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    const refill: Refill = { cost, paid: request.paid === true, outcome };
    book.refill = refill;
    const clear = () => {
      if (since !== undefined) this.firstAsks.end(book);
      if (book.refill === refill) book.refill = undefined;
    };
    outcome.then(clear, clear);
    return outcome;
  }

  /** The remote Check of a refill, and the lease it grants put in the book. */
  private ask(
    book: LeaseBook,
    request: AdmissionRequest,
    wanted: number,
    cost: number,
    since: number | undefined,
  ): Promise<CheckResponse> {
    const startedAt = this.now();
    const paid = request.paid === true;
    return this.calls.check(checkRequest(request, wanted), paid).then(async (grant) => {
      this.refillTime.observe(this.now() - startedAt);
      if (!grant.allowed) return grant;
      this.customers.assign(book, grant.customerId);
      book.failOpenUnits = 0;
      const dropped = book.droppedWhileAsked;
      const droppedBefore = dropped !== undefined && !madeWithAll(grant, dropped);
      if (droppedBefore || (since !== undefined && !this.firstAsks.keeps(grant, since))) {
        // Decided before a change that dropped the customer's leases while it was asked for (a
        // key, plan or balance change): nothing is admitted from it, and its units go back
        // before anyone asks again, so the next answer counts them (a payment's own credits
        // would otherwise sit in it).
        if (grant.leaseId) {
          const closing = this.calls
            .close(grant.leaseId, grant.leaseUnits || cost, 'dropped while asked')
            .catch(() => undefined);
          this.returns.track(returnNames(book), closing);
          await closing;
        }
        return grant;
      }
      book.lastGrant = { grant, at: this.now() };
      const units = grant.leaseId ? grant.leaseUnits || cost : Number.POSITIVE_INFINITY;
      const now = this.now();
      const lease: HeldLease = { grant, units, admitted: 0, obtainedAt: now, lastUsedAt: now };
      book.leases.push(lease);
      if (grant.leaseId) this.byLease.set(grant.leaseId, { book, lease });
      if (Number.isFinite(units)) this.held += units;
      this.sweeps.schedule(book, now + Math.min(this.options.idleMs, this.options.maxAgeMs));
      return grant;
    });
  }

  /**
   * Takes a lease out of the book and closes it remotely: its unadmitted units go back, and the
   * service learns that the rest were served (each lease is closed once, whether used up, idle,
   * old or dropped), so its expiry never hands served units back to the balance.
   */
  private async close(book: LeaseBook, lease: HeldLease, reason: string): Promise<number> {
    const index = book.leases.indexOf(lease);
    if (index >= 0) {
      book.leases.splice(index, 1);
      if (Number.isFinite(lease.units)) this.held -= lease.units - lease.admitted;
    }
    if (!lease.grant.leaseId) return 0;
    this.byLease.delete(lease.grant.leaseId);
    const unused = Math.max(0, lease.units - lease.admitted);
    const closing = this.calls.close(lease.grant.leaseId, unused, reason);
    if (unused > 0) this.returns.track(returnNames(book), closing);
    await closing;
    return unused;
  }
}
