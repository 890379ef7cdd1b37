import { Logger } from '@nestjs/common';
import { Client, type ClientConfig } from 'pg';

/**
 * `code` of the error a query gets when its connection was closed for not answering in time.
 * Not a Postgres SQLSTATE, so consumers retry such a batch whole (see `isolatable`).
 */
export const QUERY_DEADLINE_PASSED = 'PAYGATE_QUERY_DEADLINE';

/**
 * How much longer than `statement_timeout` the client waits before it gives a connection up: a
 * Postgres that is alive cancels a slow statement itself (57014, the connection stays usable),
 * so the client's deadline only ends connections whose server did not even send that.
 */
export const DEADLINE_GRACE_MS = 2_000;

/**
 * A session left idle inside a transaction for this long is ended by Postgres, which frees its
 * locks. Well above the longest a service holds a transaction open on purpose: the outbox
 * relay's, across a Kafka send that gives up within 60 s. It is for a client that vanished
 * without closing its connection (a lost host), whose locks would otherwise stay until the
 * server's own keepalive gives up on it (two hours with Linux's defaults).
 */
export const IDLE_IN_TRANSACTION_TIMEOUT_MS = 5 * 60_000;

/**
 * The pool options that give every connection the deadline and session settings of
 * `statementTimeoutMs`: DeadlineClient, and a first statement run on each new connection
 * before the pool hands it out (pg-pool's `onConnect`). That statement goes through the
 * deadline too, and if it fails the connection is dropped and the caller gets the error, so no
 * session runs without its timeouts. Set with `SET`, not as startup parameters, which PgBouncer
 * refuses (a pooler in session mode is needed anyway: docs/deployment.md).
 */
export function deadlinePoolOptions(statementTimeoutMs: number) {
  const timeoutMs = Math.trunc(statementTimeoutMs);
  return {
    Client: DeadlineClient,
    paygateStatementTimeoutMs: timeoutMs,
    onConnect: (client: Client) =>
      client.query(
        `SET statement_timeout = ${timeoutMs}; ` +
          `SET idle_in_transaction_session_timeout = ${IDLE_IN_TRANSACTION_TIMEOUT_MS}`,
      ),
    // A new connection to an address that does not answer, or a wait for a free one, fails
    // after this instead of for as long as the kernel keeps trying (or for ever).
    connectionTimeoutMillis: timeoutMs + DEADLINE_GRACE_MS,
  };
}

/** The extra settings a DeadlineClient reads from the pool's options. */
export interface DeadlineClientConfig extends ClientConfig {
  /** statement_timeout of every session; the client's deadline is this + DEADLINE_GRACE_MS. */
  paygateStatementTimeoutMs?: number;
}

type Callback = (err: Error | null, result?: unknown) => void;
type QueryFn<C = Client> = (
  this: C,
  config: unknown,
  values?: unknown,
  callback?: unknown,
) => unknown;

const logger = new Logger('postgres');
const baseQuery = Client.prototype.query as unknown as QueryFn;

/**
 * A node-postgres client that does not wait for ever on a Postgres that stopped answering
 * without closing the connection (a host lost to a network fault, a failed-over primary whose
 * address no longer answers). node-postgres has no such deadline of its own: its
 * `query_timeout` fails the caller but leaves the query on the connection, so the next one
 * waits behind it, and TCP alone gives up on a connection with data in flight only after
 * about 15 minutes of retransmissions.
 *
 * Each query has a deadline of the sessions' statement_timeout plus DEADLINE_GRACE_MS
 * (deadlinePoolOptions sets the timeout): a query without an answer by then ends the connection,
 * which fails every query on it with QUERY_DEADLINE_PASSED, and the pool drops it and opens a
 * new one for the next caller. The deadline counts from when the query is handed to the
 * client, which is when it is sent as long as a connection runs one query at a time, as
 * TypeORM's query runners and preparedQuery do (they wait for each answer); queries queued
 * behind others would share the clock. Given to the pool as its `Client`
 * (createServiceDataSource). Queries submitted as objects of their own (pg-cursor,
 * pg-query-stream) keep no deadline, and neither does pipeline mode (ending a pipelined
 * connection waits for its queries); paygate uses neither.
 */
export class DeadlineClient extends Client {
  private readonly deadlineMs: number;
  private deadlinePassed = false;

  constructor(config: DeadlineClientConfig) {
    super(config);
    const timeoutMs = Math.trunc(config.paygateStatementTimeoutMs ?? 0);
    this.deadlineMs = timeoutMs > 0 ? timeoutMs + DEADLINE_GRACE_MS : 0;
  }

  /** Ends the connection once a query went unanswered past the deadline. */
  private giveUp(): void {
    if (this.deadlinePassed) return;
    this.deadlinePassed = true;
    logger.warn(
      { host: this.host, port: this.port, deadlineMs: this.deadlineMs },
      'Postgres did not answer a query within its deadline; closing that connection',
    );
    // With a query in flight node-postgres destroys the socket at once (no goodbye to a server
    // that does not answer), fails the connection's queries, and emits no 'error' event, which
    // would crash a process on a client checked out of the pool with no listener.
    this.end().catch(() => undefined);
  }

  /** The caller's error: the deadline's own when it is what ended the connection. */
  explain(err: Error): Error {
    if (!this.deadlinePassed) return err;
    return Object.assign(
      new Error(`Postgres did not answer within ${this.deadlineMs} ms; the connection was closed`, {
        cause: err,
      }),
      { code: QUERY_DEADLINE_PASSED },
    );
  }

  /** Arms the deadline of one query; the returned function disarms it. */
  arm(): () => void {
    const timer = setTimeout(() => this.giveUp(), this.deadlineMs);
    return () => clearTimeout(timer);
  }

  get hasDeadline(): boolean {
    return this.deadlineMs > 0;
  }
}

// node-postgres' query() has a promise form and two callback forms; each keeps its shape here.
// Assigned rather than declared as a method: its overloads cannot be restated in a subclass.
(DeadlineClient.prototype as unknown as { query: QueryFn<DeadlineClient> }).query = function query(
  this: DeadlineClient,
  config: unknown,
  values?: unknown,
  callback?: unknown,
): unknown {
  const own = config as { submit?: unknown; callback?: unknown } | null;
  if (!this.hasDeadline || typeof own?.submit === 'function' || typeof own?.callback === 'function')
    return baseQuery.call(this, config, values, callback);
  const disarm = this.arm();
  const wrap =
    (done: Callback): Callback =>
    (err, result) => {
      disarm();
      done(err ? this.explain(err) : null, result);
    };
  try {
    if (typeof values === 'function') return baseQuery.call(this, config, wrap(values as Callback));
    if (typeof callback === 'function')
      return baseQuery.call(this, config, values, wrap(callback as Callback));
    return (baseQuery.call(this, config, values) as Promise<unknown>).then(
      (result) => {
        disarm();
        return result;
      },
      (err: Error) => {
        disarm();
        throw this.explain(err);
      },
    );
  } catch (err) {
    // Refused before it was queued (no query given): nothing is in flight to wait for.
    disarm();
    throw err;
  }
};
