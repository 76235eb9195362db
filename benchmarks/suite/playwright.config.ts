import { defineConfig } from '@playwright/test';

export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  reporter: 'dot',
  use: {
    launchOptions: process.env.BENCH_CHROMIUM
      ? { executablePath: process.env.BENCH_CHROMIUM, args: ['--disable-dev-shm-usage', '--disable-gpu'] }
      : {},
  },
  projects: [{ name: 'chromium' }],
});
