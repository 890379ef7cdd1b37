/**
 * What the operator scripts (ledger, dlq-replay) share: the database they run on, opened and
 * closed around their work, and how they end the process.
 */
import { DEFAULT_DATABASE_URL } from '@paygate/config';
import type { DataSource } from 'typeorm';

/**
 * Opens a data source on DATABASE_URL (the local default when unset), hands it to `use`, and
 * closes it whatever `use` does.
 */
export async function withDatabase<T>(
  open: (url: string) => DataSource,
  use: (dataSource: DataSource) => Promise<T>,
): Promise<T> {
  const dataSource = await open(process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL).initialize();
  try {
    return await use(dataSource);
  } finally {
    await dataSource.destroy();
  }
}

/** Runs a script and exits with the code it returns; an error is printed and exits 2. */
export function runScript(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(2);
    },
  );
}
