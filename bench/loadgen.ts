/**
 * Load generator for the serving benchmark, run as its own process: keeps `window` queries
 * outstanding against one server on 127.0.0.1 and counts replies per second. Queries are bencoded
 * once per target and patched with a fresh 2-byte transaction id; a reply is matched by its id.
 * Bounded: stops after `maxQueries` replies or `durationMs`, whichever comes first.
 * Prints one JSON line: {"replies", "lost", "seconds", "perSecond"}.
 */
import { createSocket } from 'node:dgram';
import { servingQuery, TARGETS } from './serving-fixture.js';

const [port, method, windowText, durationText, maxText] = process.argv.slice(2);
const window = Number(windowText ?? 64);
const durationMs = Number(durationText ?? 3000);
const maxQueries = Number(maxText ?? 500_000);
const WARMUP_MS = 500;
const LOST_AFTER_MS = 1000;

const templates = TARGETS.map((t) => Buffer.from(servingQuery(method ?? 'ping', t, 0)));
const T_MARK = Buffer.from('1:t2:');
const tOffset = (templates[0] as Buffer).indexOf(T_MARK) + T_MARK.length;

const socket = createSocket('udp4');
/** Send time per transaction id; NaN when not outstanding. A typed array: no Map churn. */
const sentAt = new Float64Array(0x10000).fill(Number.NaN);
/** One buffer per transaction id, made on first use: never rewritten while a send may hold it. */
const buffers: (Buffer | undefined)[] = new Array(0x10000);
let outstanding = 0;
let next = 0;
let counted = 0;
let lost = 0;
let measuring = false;
let startedAt = 0;

function send(): void {
  let tid = next++ & 0xffff;
  while (!Number.isNaN(sentAt[tid] as number)) tid = next++ & 0xffff;
  let msg = buffers[tid];
  if (!msg) {
    msg = Buffer.from(templates[tid & 255] as Buffer);
    msg[tOffset] = tid >> 8;
    msg[tOffset + 1] = tid & 0xff;
    buffers[tid] = msg;
  }
  sentAt[tid] = performance.now();
  outstanding++;
  socket.send(msg, Number(port), '127.0.0.1');
}

socket.on('message', (msg) => {
  // Replies put t near the end (keys are sorted: ..., t, v, y): search from the back.
  const at = msg.lastIndexOf(T_MARK);
  if (at < 0) return;
  const tid = ((msg[at + 5] as number) << 8) | (msg[at + 6] as number);
  if (Number.isNaN(sentAt[tid] as number)) return;
  sentAt[tid] = Number.NaN;
  outstanding--;
  if (measuring) counted++;
  if (counted < maxQueries) send();
});

socket.bind(0, '127.0.0.1', () => {
  const begin = performance.now();
  for (let i = 0; i < window; i++) send();
  // Replace queries that got no reply, so the window stays full.
  const sweep = setInterval(() => {
    const now = performance.now();
    for (let tid = 0; tid < 0x10000; tid++) {
      const at = sentAt[tid] as number;
      if (!Number.isNaN(at) && now - at > LOST_AFTER_MS) {
        sentAt[tid] = Number.NaN;
        outstanding--;
        lost++;
        send();
      }
    }
  }, 100);
  setTimeout(() => {
    measuring = true;
    startedAt = performance.now();
  }, WARMUP_MS);
  const stop = setInterval(() => {
    const now = performance.now();
    if (measuring && (counted >= maxQueries || now - startedAt >= durationMs)) {
      clearInterval(stop);
      clearInterval(sweep);
      const seconds = (now - startedAt) / 1000;
      process.stdout.write(
        `${JSON.stringify({ replies: counted, lost, seconds, perSecond: counted / seconds })}\n`,
      );
      socket.close();
    } else if (now - begin > WARMUP_MS + durationMs + 5000) {
      process.stdout.write(
        `${JSON.stringify({ replies: counted, lost, seconds: 0, perSecond: 0, error: 'stalled' })}\n`,
      );
      process.exit(1);
    }
  }, 20);
});
