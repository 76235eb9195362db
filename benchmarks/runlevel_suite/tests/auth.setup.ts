import * as fs from 'fs';
import * as path from 'path';
import { test as setup, expect } from '@playwright/test';
import { authFile, count } from './support';

setup('sign in', async ({ page }) => {
  count('setup');
  await page.goto('/login');
  await page.getByLabel('User').fill('ada');
  await page.getByLabel('Password').fill('correct horse battery staple');
  await page.getByRole('button', { name: 'Sign in' }).click();  // the identity provider takes about 1.5 s
  await expect(page.locator('#user')).toHaveText('signed in as ada', { timeout: 10_000 });
  fs.mkdirSync(path.dirname(authFile), { recursive: true });
  await page.context().storageState({ path: authFile });
});
