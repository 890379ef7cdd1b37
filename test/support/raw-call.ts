import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';

/** An answer with every header line as sent (repeats kept: one WWW-Authenticate per offer). */
export interface RawAnswer {
  status: number;
  /** [lower-case name, value] per header line, in order. */
  lines: [string, string][];
  /** Parsed JSON, or the text when it is not JSON, or undefined when empty. */
  // JSON bodies are checked field by field with matchers, so they are left untyped.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

/**
 * One GET to 127.0.0.1:`port` with `headers` (Host defaults to `host`), read with node:http
 * rather than fetch, which joins repeated header lines into one.
 */
export function rawGet(
  port: number,
  path: string,
  headers: Record<string, string>,
  host: string,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port, path, headers: { host, ...headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const lines: [string, string][] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2)
            lines.push([res.rawHeaders[i].toLowerCase(), res.rawHeaders[i + 1]]);
          let body: RawAnswer['body'] = text || undefined;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            // not JSON: kept as text
          }
          resolve({ status: res.statusCode ?? 0, lines, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The values of every line of one header, in order. */
export const headerValues = (answer: Pick<RawAnswer, 'lines'>, name: string): string[] =>
  answer.lines.filter(([n]) => n === name).map(([, v]) => v);

/** The first answer to bytes sent on a socket of their own (rawRequest). */
export interface RawExchange {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The server closed the connection (within the wait). */
  closed: boolean;
}

/**
 * Sends bytes no HTTP client library would send and reads the first answer. `closed` tells
 * whether the server closed the socket within `waitMs` after answering.
 */
export function rawRequest(
  port: number,
  bytes: string,
  waitMs = 1500,
  /** Then one more byte (a space) this often, as a caller that trickles its body in. */
  dripEveryMs?: number,
): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      clearInterval(drip);
      socket.destroy();
      const [head, ...rest] = data.split('\r\n\r\n');
      const [statusLine, ...lines] = head.split('\r\n');
      const status = Number(statusLine.split(' ')[1]);
      if (!status) return reject(new Error(`no answer (closed: ${closed}): ${data.slice(0, 200)}`));
      const headers = Object.fromEntries(
        lines.map((l) => [
          l.slice(0, l.indexOf(':')).toLowerCase(),
          l.slice(l.indexOf(':') + 1).trim(),
        ]),
      );
      resolve({ status, headers, body: rest.join('\r\n\r\n'), closed });
    };
    const timer = setTimeout(() => finish(false), waitMs);
    const drip =
      dripEveryMs === undefined
        ? undefined
        : setInterval(() => socket.writable && socket.write(' '), dripEveryMs);
    socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
    socket.write(bytes, 'latin1');
  });
}
