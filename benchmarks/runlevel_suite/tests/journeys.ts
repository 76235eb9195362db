import { expect, type Page } from '@playwright/test';

/**
 * One journey on a section page as the signed-in user: load the list from the slow back end, then
 * filter it on the server. It takes about 1.5 x the latency plus the page visit.
 */
export async function journey(page: Page, section: string, latency: number): Promise<void> {
  await page.goto(`/${section}?latency=${latency}`);
  await expect(page.locator('#user')).toHaveText('signed in as ada');
  await page.getByRole('button', { name: `Load ${section}` }).click();
  await expect(page.locator('#status')).toHaveText('loaded', { timeout: 10_000 });
  await expect(page.getByRole('listitem')).toHaveCount(30);
  await page.getByLabel('Filter').fill(`${section} 1`);
  await expect(page.locator('#status')).toHaveText('filtered', { timeout: 10_000 });
  await expect(page.getByRole('listitem')).toHaveCount(11);
}
