import { test, expect } from '@playwright/test';
import { appUrl } from './app';

test.beforeEach(async ({ page }) => {
  await page.goto(appUrl);
});

test('starts empty', async ({ page }) => {
  await expect(page.getByRole('listitem')).toHaveCount(0);
  await expect(page.locator('#count')).toHaveText('0 items left');
});

test('adds a todo', async ({ page }) => {
  await page.getByLabel('New todo').fill('buy milk');
  await page.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByRole('listitem')).toHaveText(['buy milk']);
  await expect(page.locator('#count')).toHaveText('1 item left');
});

test('ignores blank todos', async ({ page }) => {
  await page.getByLabel('New todo').fill('   ');
  await page.getByRole('button', { name: 'Add' }).click();
  await expect(page.getByRole('listitem')).toHaveCount(0);
});

test.describe('completing', () => {
  test('marks a todo done', async ({ page }) => {
    await page.getByLabel('New todo').fill('write tests');
    await page.keyboard.press('Enter');
    await page.getByLabel('Done: write tests').check();
    await expect(page.locator('#count')).toHaveText('0 items left');
  });

  test('counts only open todos', async ({ page }) => {
    for (const title of ['one', 'two', 'three']) {
      await page.getByLabel('New todo').fill(title);
      await page.keyboard.press('Enter');
    }
    await page.getByLabel('Done: two').check();
    await expect(page.locator('#count')).toHaveText('2 items left');
  });
});
