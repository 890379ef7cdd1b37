import { DEAD_LETTER_HEADERS } from '../../libs/contracts/src/topics';
import { execFileSync } from 'node:child_process';
import { testConfig } from '../../libs/testing/src/test-config';

/** This run's topics (test/support/global-setup.ts gives each run a prefix of its own). */
const topics = testConfig().topics;

export interface CommittedLetter {
  /** `partition:offset` of the original message. */
  coordinate: string;
  headers: Map<string, string>;
}

/**
 * The DLQ letters of `topic` as a read_committed reader sees them, read with kcat (librdkafka):
 * a client independent of the one under test. Unpatched kafkajs 2.2.4 delivered letters of
 * aborted transactions (a batch retried after a broker restart aborted its transaction), which
 * looked like repeats; see libs/messaging/src/aborted-transactions.int-spec.ts and
 * patches/kafkajs+2.2.4.patch.
 */
export function committedLetters(topic: string): CommittedLetter[] {
  const out = execFileSync(
    'kcat',
    [
      '-C',
      '-b',
      testConfig().kafkaBrokers.join(','),
      '-t',
      topics.usageDeadLetter,
      '-X',
      'isolation.level=read_committed',
      '-e',
      '-q',
      '-J',
    ],
    { encoding: 'utf8', maxBuffer: 1024 * 1024 * 1024, timeout: 180_000 },
  );
  const letters: CommittedLetter[] = [];
  for (const line of out.split('\n')) {
    if (line.trim() === '') continue;
    const flat = (JSON.parse(line) as { headers?: string[] }).headers ?? [];
    const headers = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) headers.set(flat[i], flat[i + 1]);
    if (headers.get(DEAD_LETTER_HEADERS.topic) !== topic) continue;
    letters.push({
      coordinate: `${headers.get(DEAD_LETTER_HEADERS.partition)}:${headers.get(DEAD_LETTER_HEADERS.offset)}`,
      headers,
    });
  }
  return letters;
}
