import * as fs from 'fs';
import * as path from 'path';

/** Where the sign-in setup saves the session the app tests start with (removed by the teardown). */
export const authFile = path.join(__dirname, '..', 'playwright', '.auth', 'user.json');

/** Appends one event line to $BENCH_COUNTS (when set), for the benchmark's per-run counts. */
export function count(event: string): void {
  if (process.env.BENCH_COUNTS) fs.appendFileSync(process.env.BENCH_COUNTS, `${event} pid=${process.pid} t=${Date.now()}\n`);
}
