import { test } from '@playwright/test';
import { journey } from './journeys';

// Six orders journeys; the back-end latency (ms) sets each one's duration.
for (const latency of [200, 700, 1500, 1200, 400, 900]) {
  test(`orders with ${latency} ms back end`, async ({ page }) => {
    await journey(page, 'orders', latency);
  });
}
