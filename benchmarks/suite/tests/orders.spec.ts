import * as path from 'path';
import { pathToFileURL } from 'url';
import { test, expect } from '@playwright/test';

const app = (latency: number) =>
  `${pathToFileURL(path.join(__dirname, '..', 'app', 'index.html')).href}?latency=${latency}`;

// Sixteen journeys whose durations (2.5 to 8 s) come from the simulated back end's latency.
const journeys = [500, 800, 1100, 1400, 1700, 2000, 2300, 2600, 600, 900, 1200, 1500, 1800, 2100, 2400, 2700];

for (const [index, latency] of journeys.entries()) {
  test(`journey ${index + 1}: load, filter and reload with ${latency} ms back end`, async ({ page }) => {
    await page.goto(app(latency));
    await page.getByRole('button', { name: 'Load orders' }).click();
    await expect(page.locator('#status')).toHaveText('loaded', { timeout: 10_000 });
    await expect(page.getByRole('listitem')).toHaveCount(30);
    await page.getByLabel('Filter').fill('order 1');
    await expect(page.locator('#status')).toHaveText('filtered', { timeout: 10_000 });
    await expect(page.getByRole('listitem')).toHaveCount(11);
    await page.reload();
    await page.getByRole('button', { name: 'Load orders' }).click();
    await expect(page.locator('#status')).toHaveText('loaded', { timeout: 10_000 });
    await page.getByLabel('Filter').fill('order 2');
    await expect(page.getByRole('listitem')).toHaveCount(11, { timeout: 10_000 });
  });
}
