import { Logger } from '@nestjs/common';
import { Client, type ClientConfig } from 'pg';

export interface ChannelListenerHandlers {
  /** A NOTIFY on the channel was delivered (payloads are not used: a wake-up is the message). */
  notified(): void;
  /**
   * The listener started or stopped listening. Whatever was notified while it was not
   * listening is lost, so a `true` means "catch up now".
   */
  listening(listening: boolean): void;
}

export interface ChannelListenerOptions {
  /** First delay before reconnecting after the connection was lost; doubles up to the max. */
  retryMs: number;
  maxRetryMs: number;
  /**
   * How often the connection is checked with a query while it listens: a connection a NAT or
   * load balancer dropped without a word delivers nothing and reports no error, so only a
   * query that gets no answer tells. Also the timeout of connecting and of that query.
   */
  checkMs: number;
}

const DEFAULTS: ChannelListenerOptions = { retryMs: 500, maxRetryMs: 10_000, checkMs: 30_000 };

/** How long stop() waits for a graceful end of the connection (a dead peer never answers). */
const END_WAIT_MS = 2_000;

/**
 * LISTENs on one Postgres channel over a connection of its own (a pooled connection would
 * drop the LISTEN when it is released), and reconnects with backoff when the connection is
 * lost or stops answering. Postgres delivers every notification committed after LISTEN ran,
 * for as long as the connection lives; `listening(false)` then `listening(true)` tell the owner
 * about the gap.
 */
export class ChannelListener {
  private readonly logger = new Logger(ChannelListener.name);
  private readonly options: ChannelListenerOptions;
  /** The client connecting or listening, if any. */
  private client?: Client;
  private retryTimer?: NodeJS.Timeout;
  private checkTimer?: NodeJS.Timeout;
  private retryMs: number;
  private stopped = true;
  private listeningNow = false;

  constructor(
    private readonly connection: ClientConfig,
    private readonly channel: string,
    private readonly handlers: ChannelListenerHandlers,
    options: Partial<ChannelListenerOptions> = {},
  ) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel))
      throw new Error(`channel must be a lowercase SQL identifier, got "${channel}"`);
    this.options = { ...DEFAULTS, ...options };
    this.retryMs = this.options.retryMs;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.checkTimer);
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    const ended = client.end().catch(() => undefined);
    await Promise.race([ended, new Promise((r) => setTimeout(r, END_WAIT_MS).unref())]);
  }

  private async connect(): Promise<void> {
    const { checkMs } = this.options;
    const client = new Client({
      ...this.connection,
      keepAlive: true,
      keepAliveInitialDelayMillis: checkMs,
      connectionTimeoutMillis: checkMs,
      query_timeout: checkMs,
    });
    this.client = client;
    // A lost connection surfaces as 'error' and/or 'end', or as a check that gets no answer;
    // whichever comes first ends this client, and a new one is made after a backoff.
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      clearInterval(this.checkTimer);
      client.removeAllListeners('notification');
      if (this.client === client) this.client = undefined;
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn(
        { channel: this.channel, err: err?.message, retryInMs: this.retryMs },
        this.listeningNow
          ? 'lost the Postgres LISTEN connection; reconnecting'
          : 'could not LISTEN on Postgres; retrying',
      );
      if (this.listeningNow) {
        this.listeningNow = false;
        this.handlers.listening(false);
      }
      this.retry();
    };
    client.on('error', onLost);
    client.on('end', () => onLost());
    client.on('notification', (message) => {
      if (message.channel === this.channel) this.handlers.notified();
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${this.channel}"`);
    } catch (err) {
      onLost(err as Error);
      return;
    }
    if (lost || this.stopped) return;
    this.retryMs = this.options.retryMs;
    this.listeningNow = true;
    this.checkTimer = setInterval(() => {
      client.query('SELECT 1').catch((err: Error) => onLost(err));
    }, checkMs);
    this.checkTimer.unref();
    this.handlers.listening(true);
  }

  private retry(): void {
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}
