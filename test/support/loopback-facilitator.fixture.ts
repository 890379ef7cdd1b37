// A stand-in x402 facilitator on loopback for the specs (unit and e2e): it records what it is
// sent and answers as told, statically per path or through `respond`.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FacilitatorAnswer {
  status: number;
  body: unknown;
}

export class LoopbackFacilitator {
  readonly calls: Array<{ path: string; body: Record<string, unknown> }> = [];
  /** Answers by path (after the base path), used when `respond` gives none. */
  answer: Record<string, FacilitatorAnswer> = {};
  /** Answers a call itself (may wait, or act in between); undefined falls back to `answer`. */
  respond?: (path: string, body: Record<string, unknown>) => Promise<FacilitatorAnswer | undefined>;
  private server?: Server;

  /** Listens on a free port; returns the base URL (`http://127.0.0.1:<port><basePath>`). */
  async start(basePath = ''): Promise<string> {
    this.server = createServer((request: IncomingMessage, response) => {
      let text = '';
      request.on('data', (chunk) => (text += chunk));
      request.on('end', () => {
        const path = (request.url ?? '').slice(basePath.length);
        const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        this.calls.push({ path, body });
        void (this.respond?.(path, body) ?? Promise.resolve(undefined)).then((dynamic) => {
          const { status, body: answer } = dynamic ??
            this.answer[path] ?? { status: 404, body: {} };
          response.writeHead(status, { 'content-type': 'application/json' });
          response.end(JSON.stringify(answer));
        });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${basePath}`;
  }

  stop(): Promise<unknown> {
    return new Promise((resolve) => this.server?.close(resolve));
  }
}
