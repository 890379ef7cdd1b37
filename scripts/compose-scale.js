// @ts-check
// The scale phase of scripts/compose-smoke.sh (docs/getting-started.md "With Docker", "Scaling"). With the stack
// up and seeded, usage events flow into metering's /events through the published port (which
// metering-lb relays to a running replica) without a pause, while the usage consumer group is
// rebalanced three times:
//   1. `up --scale metering=2`: a second replica joins and takes half of the partitions;
//   2. `docker kill` (SIGKILL) of the first replica while both apply batches: its partitions,
//      with whatever batch it had in flight, go to the second once its session expires;
//   3. `up --scale metering=1`: compose stops one replica (SIGTERM) and keeps or restarts the
//      other, which then owns every partition.
// Afterwards the usage API must show, for every customer, exactly the distinct events accepted
// for it: none lost, none counted twice, although a tenth of the events are sent twice on
// purpose and every request without a 2xx answer is sent again with the same ids. The group's
// assignment (from the broker) and each replica's applied-events counter (its /metrics) show
// that both replicas owned partitions and applied events, so the check cannot pass without a
// real rebalance. The events are spread over customers chosen so that every partition gets
// some. Any mismatch or timeout fails (exit 1); the measured times are printed.
//
//   node scripts/compose-scale.js <metering URL> <demo customer id> <compose command...>
//
// PAYGATE_SERVICE_TOKENS (the first is used), PAYGATE_ADMIN_TOKEN and METERING_OPERATOR_URL
// (the usage API; default: compose's http://127.0.0.1:3012) from the environment;
// SCALE_RATE (events per second, default 100) sets the load.
'use strict';
const { execFile } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const http = require('node:http');

const [meteringUrl, demoCustomer, ...compose] = process.argv.slice(2);
if (!meteringUrl || !demoCustomer || compose.length === 0) {
  console.error('usage: node scripts/compose-scale.js <metering URL> <customer id> <compose...>');
  process.exit(2);
}
// Metering's operator API (the usage API): its own port under compose (METERING_OPERATOR_URL).
const operatorUrl = process.env.METERING_OPERATOR_URL ?? 'http://127.0.0.1:3012';
const serviceToken = (process.env.PAYGATE_SERVICE_TOKENS ?? '').split(',')[0].trim();
const adminToken = process.env.PAYGATE_ADMIN_TOKEN ?? '';
const RATE = Number(process.env.SCALE_RATE ?? 100);
/** Customers whose events go to each partition (a customer's events all go to one). */
const PER_PARTITION = 2;
/** Per request: new events, and exact copies of events accepted before (a tenth). */
const FRESH = 18;
const COPIES = 2;
const WORKERS = 2;

const t0 = Date.now();
/** @type {string[]} */
const timings = [];
const secs = (/** @type {number} */ ms) => (ms / 1000).toFixed(1);
const log = (/** @type {string} */ msg) =>
  console.error(`[compose-scale] +${secs(Date.now() - t0)} s ${msg}`);
const sleep = (/** @type {number} */ ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** Records how long something took since `since` (ms epoch). */
const took = (/** @type {string} */ what, /** @type {number} */ since) => {
  timings.push(`${what}: ${secs(Date.now() - since)} s`);
  log(`${what} (${secs(Date.now() - since)} s)`);
};

/** Ends the phase whatever `until` is waiting for. */
class Fatal extends Error {}

/**
 * @param {string} file
 * @param {string[]} args
 * @param {string} [input]
 * @returns {Promise<string>}
 */
function run(file, args, input) {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: 120_000, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err)
          reject(new Error(`${[file, ...args].join(' ')}: ${(stderr || err.message).trim()}`));
        else resolve(stdout);
      },
    );
    // A command that exits before reading its input closes the pipe: EPIPE on stdin is not an
    // outcome (the exit callback above reports that), and unhandled it would end this script.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(input ?? '');
  });
}
const dc = (/** @type {string[]} */ ...args) => run(compose[0], [...compose.slice(1), ...args]);

/** @typedef {{ id: string, name: string, running: boolean, health: string, ips: string[] }} Replica */

/** The compose project and its entitlement container (found once: docker-compose is slow). */
let stack = /** @type {{ project: string, entitlement: string } | undefined} */ (undefined);
async function theStack() {
  if (!stack) {
    const [entitlement] = (await dc('ps', '-q', 'entitlement')).split(/\s+/).filter(Boolean);
    const label = '{{index .Config.Labels "com.docker.compose.project"}}';
    const project = (await run('docker', ['inspect', '--format', label, entitlement])).trim();
    stack = { project, entitlement };
  }
  return stack;
}

/** The metering containers, running or not, by name. @returns {Promise<Replica[]>} */
async function replicas() {
  const { project } = await theStack();
  const ids = (
    await run('docker', [
      'ps',
      '-aq',
      '--filter',
      `label=com.docker.compose.project=${project}`,
      '--filter',
      'label=com.docker.compose.service=metering',
      '--filter',
      'label=com.docker.compose.oneoff=False',
    ])
  )
    .split(/\s+/)
    .filter(Boolean);
  if (ids.length === 0) return [];
  const out = await run('docker', ['inspect', '--format', '{{json .}}', ...ids]);
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const c = JSON.parse(line);
      return {
        id: c.Id,
        name: c.Name.replace(/^\//, ''),
        running: c.State.Running,
        health: c.State.Health?.Status ?? c.State.Status,
        ips: Object.values(c.NetworkSettings.Networks)
          .map((n) => /** @type {{ IPAddress: string }} */ (n).IPAddress)
          .filter(Boolean),
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

// A replica's /metrics, from inside it (the admin listener is on its loopback only).
const METRICS_JS =
  "fetch('http://127.0.0.1:'+(process.env.ADMIN_HTTP_PORT||1000+Number(process.env.HTTP_PORT))+'/metrics')" +
  '.then(r=>r.text()).then(t=>process.stdout.write(t),e=>{console.error(e.message);process.exit(1)})';

/** Events a replica applied (counted) and found to be duplicates since it started. */
async function applied(/** @type {Replica} */ replica) {
  const text = await run('docker', ['exec', replica.id, 'node', '-e', METRICS_JS]);
  const outcome = (/** @type {string} */ name) => {
    const m = new RegExp(
      `^paygate_usage_events_total\\{[^}]*outcome="${name}"[^}]*\\} (\\S+)$`,
      'm',
    ).exec(text);
    return m ? Number(m[1]) : 0;
  };
  return { accepted: outcome('accepted'), duplicate: outcome('duplicate') };
}

// Node with kafkajs inside the entitlement container (always up): `body` runs with `admin`
// connected, `topic` and `group` (metering's usage topic and consumer group, the deployment's
// KAFKA_PREFIX applied) and `args` (JSON); what it returns is printed as JSON.
const kafkaScript = (/** @type {string} */ body) => `
const { Kafka, AssignerProtocol, Partitioners, logLevel } = require('kafkajs');
const { randomUUID } = require('node:crypto');
const prefix = process.env.KAFKA_PREFIX || '';
const group = prefix + 'paygate-metering';
const topic = prefix + 'paygate.usage.v1';
const args = JSON.parse(process.env.SCALE_ARGS || '{}');
const admin = new Kafka({ clientId: 'compose-scale', brokers: process.env.KAFKA_BROKERS.split(','),
  logLevel: logLevel.NOTHING }).admin();
admin.connect().then(async () => {${body}})
  .then((result) => { process.stdout.write(JSON.stringify(result)); return admin.disconnect(); })
  .catch((e) => { console.error(e.message); process.exit(1); });
`;
/** @returns {Promise<any>} */
async function inKafka(/** @type {string} */ body, args = {}) {
  const { entitlement } = await theStack();
  const script = kafkaScript(body);
  const env = `SCALE_ARGS=${JSON.stringify(args)}`;
  return JSON.parse(
    await run('docker', ['exec', '-i', '-e', env, entitlement, 'node', '-'], script),
  );
}

// The group as the broker sees it: members (address, partitions), and the lag of its committed
// offsets.
const GROUP = `
  const [{ groups: [g] }, highs, committed] = await Promise.all([
    admin.describeGroups([group]),
    admin.fetchTopicOffsets(topic),
    admin.fetchOffsets({ groupId: group, topics: [topic] }),
  ]);
  const members = g.members.map((m) => ({
    host: m.clientHost.replace(/^\\//, ''),
    partitions: (m.memberAssignment.length > 0 &&
      AssignerProtocol.MemberAssignment.decode(m.memberAssignment)?.assignment[topic]) || [],
  }));
  let lag = 0;
  for (const h of highs) {
    const c = committed[0].partitions.find((p) => p.partition === h.partition);
    lag += Number(h.high) - Number(c && Number(c.offset) >= 0 ? c.offset : h.low);
  }
  return { state: g.state, members, partitions: highs.length, lag };
`;
/** @typedef {{ state: string, members: { host: string, partitions: number[] }[], partitions: number, lag: number }} Group */
/** @returns {Promise<Group>} */
const group = () => inKafka(GROUP);

// Customers whose events, keyed by customer like every producer's (the default partitioner),
// reach every partition of the usage topic: the demo customer and new ids, `perPartition` each.
const CUSTOMERS_FOR_EVERY_PARTITION = `
  const [{ partitions }] = (await admin.fetchTopicMetadata({ topics: [topic] })).topics;
  const partitionOf = Partitioners.DefaultPartitioner();
  const of = (key) => partitionOf({ topic, partitionMetadata: partitions, message: { key } });
  const customers = [args.demo];
  const count = partitions.map(() => 0);
  count[of(args.demo)] += 1;
  while (count.some((n) => n < args.perPartition)) {
    const id = randomUUID();
    if (count[of(id)] < args.perPartition) {
      count[of(id)] += 1;
      customers.push(id);
    }
  }
  return customers;
`;

/** Partitions of each replica in a stable group; undefined while it rebalances or a member is unknown. */
function owners(/** @type {Group} */ g, /** @type {Replica[]} */ of) {
  if (g.state !== 'Stable' || g.members.length !== of.length) return undefined;
  const owned = of.map((r) =>
    g.members.filter((m) => r.ips.includes(m.host)).flatMap((m) => m.partitions),
  );
  const all = owned.flat();
  return all.length === g.partitions && owned.every((p) => p.length > 0) ? owned : undefined;
}
const describe = (/** @type {Group} */ g) =>
  `${g.state}, ${g.members.map((m) => `${m.host} [${m.partitions.join(',')}]`).join(' ')}, lag ${g.lag}`;

/** api_requests of a customer in the usage API. */
async function usageOf(/** @type {string} */ customer) {
  const res = await fetch(`${operatorUrl}/v1/usage?customerId=${customer}&meterKey=api_requests`, {
    headers: { authorization: `Bearer ${adminToken}` },
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`usage API answered ${res.status}: ${await res.text()}`);
  return Number((await res.json()).total?.value ?? 0);
}
const totals = async (/** @type {string[]} */ customers) =>
  new Map(
    await Promise.all(customers.map(async (c) => /** @type {const} */ ([c, await usageOf(c)]))),
  );
const sum = (/** @type {Iterable<number>} */ xs) => [...xs].reduce((a, b) => a + b, 0);

/** @type {Publisher | undefined} */
let publisher;
/** What the current wait last saw (for its timeout message). */
let note = '';

/**
 * Polls `check` every second until it returns something truthy; its errors are retried (and
 * reported if time runs out), except Fatal ones and the publisher's.
 * @template T
 * @param {string} what
 * @param {number} seconds
 * @param {() => Promise<T | undefined | false>} check
 * @returns {Promise<T>}
 */
async function until(what, seconds, check) {
  const deadline = Date.now() + seconds * 1000;
  note = '';
  for (;;) {
    if (publisher?.error) throw publisher.error;
    try {
      const result = await check();
      if (result) return result;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      note = /** @type {Error} */ (err).message;
    }
    if (Date.now() > deadline) throw new Fatal(`${what}: not within ${seconds} s (${note})`);
    await sleep(1000);
  }
}

/** @typedef {{ specversion: string, id: string, source: string, type: string, subject: string, time: string, data: { units: number } }} UsageEvent */

/** POSTs batches of events until stopped; a batch is sent again until metering accepts it. */
class Publisher {
  constructor(/** @type {string[]} */ customers) {
    this.customers = customers;
    this.run = `scale-${randomUUID().slice(0, 8)}`;
    this.seq = 0;
    /** Distinct events accepted per customer. @type {Map<string, number>} */
    this.fresh = new Map(customers.map((c) => [c, 0]));
    /** Every event accepted (copies are drawn from them). @type {UsageEvent[]} */
    this.accepted = [];
    this.copies = 0;
    this.requests = 0;
    /** Attempts without a 2xx answer, by what happened. @type {Map<string, number>} */
    this.failed = new Map();
    this.longestOutageMs = 0;
    this.stopping = false;
    this.nextAt = Date.now();
    /** @type {Error | undefined} */
    this.error = undefined;
    /** @type {Promise<void>[]} */
    this.workers = [];
  }

  get distinct() {
    return sum(this.fresh.values());
  }

  start() {
    this.startedAt = Date.now();
    this.workers = Array.from({ length: WORKERS }, () =>
      this.work().catch((err) => {
        this.error ??= new Fatal(`publisher: ${err.message}`);
      }),
    );
  }

  async stop() {
    this.stopping = true;
    await Promise.all(this.workers);
    this.stoppedAt = Date.now();
    if (this.error) throw this.error;
  }

  async work() {
    while (!this.stopping && !this.error) {
      // Paced to RATE events a second; after an outage it catches up at most a second's worth.
      const now = Date.now();
      this.nextAt = Math.max(this.nextAt, now - 1000);
      const at = this.nextAt;
      this.nextAt += ((FRESH + COPIES) / RATE) * 1000;
      if (at > now) await sleep(at - now);
      const fresh = Array.from({ length: FRESH }, () => this.event());
      const copies =
        this.accepted.length === 0 ? [] : Array.from({ length: COPIES }, () => this.pick());
      await this.deliver([...fresh, ...copies]);
      for (const e of fresh) this.fresh.set(e.subject, (this.fresh.get(e.subject) ?? 0) + 1);
      this.accepted.push(...fresh);
      this.copies += copies.length;
    }
  }

  /** @returns {UsageEvent} */
  event() {
    const n = this.seq++;
    return {
      specversion: '1.0',
      id: `${this.run}-${n}`,
      source: 'compose-scale',
      type: 'dev.paygate.request.served',
      subject: this.customers[n % this.customers.length],
      time: new Date().toISOString(),
      data: { units: 1 },
    };
  }

  pick() {
    return this.accepted[Math.floor(Math.random() * this.accepted.length)];
  }

  /** Sends the same body until a 2xx answer; a 4xx (but 408 and 429) is a bug: it fails. */
  async deliver(/** @type {UsageEvent[]} */ events) {
    const body = JSON.stringify(events);
    const since = Date.now();
    for (;;) {
      this.requests++;
      const { status, detail } = await post(body);
      if (status >= 200 && status < 300) {
        this.longestOutageMs = Math.max(this.longestOutageMs, Date.now() - since);
        return;
      }
      if (status >= 400 && status < 500 && status !== 408 && status !== 429)
        throw new Error(`POST /events answered ${status}: ${detail}`);
      const key = status ? String(status) : detail;
      this.failed.set(key, (this.failed.get(key) ?? 0) + 1);
      if (Date.now() - since > 90_000)
        throw new Error(`POST /events not accepted for 90 s (last: ${status || detail})`);
      await sleep(250);
    }
  }
}

/**
 * One request on a connection of its own (each one relayed to the next replica).
 * @param {string} body
 * @returns {Promise<{ status: number, detail: string }>}
 */
function post(body) {
  return new Promise((resolve) => {
    const req = http.request(new URL('/events', meteringUrl), {
      method: 'POST',
      agent: false,
      timeout: 5000,
      headers: {
        authorization: `Bearer ${serviceToken}`,
        'content-type': 'application/cloudevents-batch+json',
        'content-length': Buffer.byteLength(body),
      },
    });
    req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
    req.on('error', (err) =>
      resolve({
        status: 0,
        detail: /** @type {NodeJS.ErrnoException} */ (err).code ?? err.message,
      }),
    );
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, detail: text.slice(0, 500) }));
      res.on('error', (err) => resolve({ status: 0, detail: err.message }));
    });
    req.end(body);
  });
}

async function main() {
  /** @type {string[]} */
  const customers = await inKafka(CUSTOMERS_FOR_EVERY_PARTITION, {
    demo: demoCustomer,
    perPartition: PER_PARTITION,
  });
  const before = await totals(customers);
  const [first, ...others] = (await replicas()).filter((r) => r.running);
  if (!first || others.length > 0) throw new Fatal('expected exactly one running metering replica');

  const pub = new Publisher(customers);
  publisher = pub;
  pub.start();
  log(
    `publishing ${RATE} events/s (a tenth copies) for ${customers.length} customers to ${meteringUrl}`,
  );
  await until('events accepted before scaling', 60, async () => pub.distinct >= RATE * 2);

  // 1. A second replica: the group rebalances onto both, and both apply events.
  let t = Date.now();
  await dc('up', '-d', '--no-deps', '--no-recreate', '--scale', 'metering=2', 'metering');
  took('up -d --scale metering=2 returned', t);
  const second = await until('a second replica, healthy', 120, async () => {
    const rs = (await replicas()).filter((r) => r.running && r.id !== first.id);
    note = rs.map((r) => `${r.name} ${r.health}`).join(', ');
    return rs.length === 1 && rs[0].health === 'healthy' && rs[0];
  });
  took(`${second.name} healthy`, t);
  const pair = [first, second];
  const split = await until('the group rebalanced onto both replicas', 60, async () => {
    const g = await group();
    note = describe(g);
    return owners(g, pair);
  });
  took(
    `group rebalanced: ${pair.map((r, i) => `${r.name} [${split[i].join(',')}]`).join(', ')}`,
    t,
  );
  const atSplit = await Promise.all(pair.map(applied));
  await until('both replicas applying events', 60, async () => {
    const now = await Promise.all(pair.map(applied));
    note = now.map((n, i) => `${pair[i].name} ${atSplit[i].accepted} → ${n.accepted}`).join(', ');
    return now.every((n, i) => n.accepted > atSplit[i].accepted) && now;
  });
  took('both replicas applied events', t);

  // 2. SIGKILL of the first replica while both apply events: no shutdown, no offset commit.
  t = Date.now();
  const lastOfFirst = await applied(first);
  await run('docker', ['kill', first.id]);
  log(`docker kill ${first.name} (it had applied ${lastOfFirst.accepted} events)`);
  await until(`${second.name} owning every partition`, 90, async () => {
    const g = await group();
    note = describe(g);
    return owners(g, [second]);
  });
  took(`${second.name} took over every partition after the kill`, t);
  const atTakeover = await applied(second);
  await until(`${second.name} applying events alone`, 60, async () => {
    const now = await applied(second);
    return now.accepted > atTakeover.accepted;
  });
  const lastOfSecond = await applied(second);

  // 3. Back to one replica: compose stops one (SIGTERM) and keeps or restarts the other.
  t = Date.now();
  await dc('up', '-d', '--no-deps', '--no-recreate', '--scale', 'metering=1', 'metering');
  took('up -d --scale metering=1 returned', t);
  const last = await until('one replica, healthy', 120, async () => {
    const rs = (await replicas()).filter((r) => r.running);
    note = rs.map((r) => `${r.name} ${r.health}`).join(', ');
    return rs.length === 1 && rs[0].health === 'healthy' && rs[0];
  });
  await until(`${last.name} owning every partition`, 90, async () => {
    const g = await group();
    note = describe(g);
    return owners(g, [last]);
  });
  const atLast = await applied(last);
  await until(`${last.name} applying events`, 60, async () => {
    const now = await applied(last);
    return now.accepted > atLast.accepted;
  });
  took(`back to one replica (${last.name}), applying events`, t);
  await sleep(2000);
  t = Date.now();
  await pub.stop();
  publisher = undefined;
  const publishedFor = secs((pub.stoppedAt ?? 0) - (pub.startedAt ?? 0));
  log(
    `published ${pub.distinct} distinct events (+${pub.copies} copies sent on purpose) in ${publishedFor} s: ` +
      `${pub.requests} requests, ${sum(pub.failed.values())} without a 2xx answer and sent again ` +
      `(${[...pub.failed].map(([k, v]) => `${k} ×${v}`).join(', ') || 'none'}), ` +
      `longest until accepted ${secs(pub.longestOutageMs)} s`,
  );

  // 4. Every distinct event exactly once: the group has applied everything, and the usage API
  // shows each customer's count (more is double counting, at once; less is loss, at the end).
  const expected = new Map(
    customers.map((c) => [c, (before.get(c) ?? 0) + (pub.fresh.get(c) ?? 0)]),
  );
  /** @param {Map<string, number>} seen */
  const over = (seen) => customers.filter((c) => (seen.get(c) ?? 0) > (expected.get(c) ?? 0));
  await until('the usage API showing every distinct event once', 120, async () => {
    const g = await group();
    const seen = await totals(customers);
    if (over(seen).length > 0)
      throw new Fatal(
        `counted twice: ${over(seen)
          .map((c) => `${c} ${seen.get(c)} > ${expected.get(c)}`)
          .join(', ')}`,
      );
    note = `lag ${g.lag}, usage ${sum(seen.values())} of ${sum(expected.values())}`;
    return g.lag === 0 && customers.every((c) => seen.get(c) === expected.get(c));
  });
  took('all applied, usage exact', t);
  await sleep(3000);
  const final = await totals(customers);
  const wrong = customers.filter((c) => final.get(c) !== expected.get(c));
  if (wrong.length > 0)
    throw new Fatal(
      `usage changed after the group caught up: ${wrong.map((c) => `${c} ${final.get(c)} ≠ ${expected.get(c)}`).join(', ')}`,
    );

  const fresh = sum(final.values()) - sum(before.values());
  log(
    `usage API: ${fresh} new api_requests over ${customers.length} customers = ${pub.distinct} distinct events ` +
      `sent (${pub.copies} copies and every re-sent request counted once); demo customer ` +
      `${before.get(demoCustomer)} → ${final.get(demoCustomer)}`,
  );
  const ofLast = await applied(last);
  log(
    `events applied (duplicates dropped) by each replica: ${first.name} ` +
      `${lastOfFirst.accepted} (${lastOfFirst.duplicate}) until its kill, ${second.name} ` +
      `${lastOfSecond.accepted} (${lastOfSecond.duplicate}) until the scale-down, ${last.name}` +
      `${last.id === first.id ? ' (restarted)' : ''} ${ofLast.accepted} (${ofLast.duplicate}) after it`,
  );
  for (const line of timings) console.error(`[compose-scale]   ${line}`);
  log('passed');
}

main().catch(async (err) => {
  console.error(`[compose-scale] FAILED: ${err.message}`);
  if (publisher) {
    publisher.stopping = true;
    await Promise.race([Promise.all(publisher.workers), sleep(10_000)]);
  }
  for (const line of timings) console.error(`[compose-scale]   ${line}`);
  process.exit(1);
});
