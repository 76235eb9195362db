import * as fs from 'fs';
import { test as teardown } from '@playwright/test';
import { authFile, count } from './support';

teardown('sign out', async () => {
  count('teardown');
  fs.rmSync(authFile, { force: true });
});
