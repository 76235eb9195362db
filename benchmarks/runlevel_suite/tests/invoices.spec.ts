import { test } from '@playwright/test';
import { journey } from './journeys';

// Six invoices journeys; the back-end latency (ms) sets each one's duration.
for (const latency of [350, 1300, 650, 1100, 150, 950]) {
  test(`invoices with ${latency} ms back end`, async ({ page }) => {
    await journey(page, 'invoices', latency);
  });
}
