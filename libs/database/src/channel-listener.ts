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
}

/**
 * LISTENs on one Postgres channel over a connection of its own (a pooled connection would
 * drop the LISTEN when it is released), and reconnects with backoff when the connection is
 * lost. Postgres delivers every notification committed after LISTEN ran, for as long as the
 * connection lives; `listening(false)` then `listening(true)` tell the owner about the gap.
 */
export class ChannelListener {
  private readonly logger = new Logger(ChannelListener.name);
  private client?: Client;
  private retryTimer?: NodeJS.Timeout;
  private retryMs: number;
  private stopped = true;

  constructor(
    private readonly connection: ClientConfig,
    private readonly channel: string,
    private readonly handlers: ChannelListenerHandlers,
    private readonly options: ChannelListenerOptions = { retryMs: 500, maxRetryMs: 10_000 },
  ) {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel))
      throw new Error(`channel must be a lowercase SQL identifier, got "${channel}"`);
    this.retryMs = options.retryMs;
  }

  start(): void {
    this.stopped = false;
    void this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({ ...this.connection, keepAlive: true });
    // A lost connection surfaces as 'error' and/or 'end'; either one ends this listener.
    let lost = false;
    const onLost = (err?: Error) => {
      if (lost) return;
      lost = true;
      client.removeAllListeners('notification');
      if (this.client === client) this.client = undefined;
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn(
        { channel: this.channel, err: err?.message, retryInMs: this.retryMs },
        'lost the Postgres LISTEN connection; reconnecting',
      );
      this.handlers.listening(false);
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
      if (!lost) {
        lost = true;
        void client.end().catch(() => undefined);
        if (!this.stopped) {
          this.logger.warn(
            { channel: this.channel, err: (err as Error).message, retryInMs: this.retryMs },
            'could not LISTEN on Postgres; retrying',
          );
          this.retry();
        }
      }
      return;
    }
    if (lost) return;
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.retryMs = this.options.retryMs;
    this.handlers.listening(true);
  }

  private retry(): void {
    const delay = this.retryMs;
    this.retryMs = Math.min(this.retryMs * 2, this.options.maxRetryMs);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }
}
