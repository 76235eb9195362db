import { test } from '@playwright/test';
import { journey } from './journeys';

// Six customers journeys; the back-end latency (ms) sets each one's duration.
for (const latency of [500, 1400, 250, 800, 1700, 1000]) {
  test(`customers with ${latency} ms back end`, async ({ page }) => {
    await journey(page, 'customers', latency);
  });
}
