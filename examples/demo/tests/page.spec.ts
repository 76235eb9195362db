import { test, expect } from '@playwright/test';
import { appUrl } from './app';

test('has a title', async ({ page }) => {
  await page.goto(appUrl);
  await expect(page).toHaveTitle('Todo demo');
});

test('has a heading and an input', async ({ page }) => {
  await page.goto(appUrl);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Todos');
  await expect(page.getByPlaceholder('What needs doing?')).toBeVisible();
});

test('saves a screenshot as a custom artifact', async ({ page }) => {
  await page.goto(appUrl);
  const folder = process.env.HT_TEST_ARTIFACTS_OUTPUT_PATH ?? test.info().outputDir;
  await page.screenshot({ path: `${folder}/screenshots/home.png` });
});
