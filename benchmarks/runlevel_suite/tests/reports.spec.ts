import { test } from '@playwright/test';
import { journey } from './journeys';

// Six reports journeys; the back-end latency (ms) sets each one's duration.
for (const latency of [750, 1600, 450, 1050, 1250, 100]) {
  test(`reports with ${latency} ms back end`, async ({ page }) => {
    await journey(page, 'reports', latency);
  });
}
