import { defineConfig } from '@playwright/test';
import { authFile } from './tests/support';

const port = Number(process.env.BENCH_PORT || 39517);

// A typical application suite: a web server that builds for about 3 s before it listens, a sign-in
// setup project (with a teardown) that every app test depends on, and 24 app tests of 0.5 to 3 s.
export default defineConfig({
  testDir: './tests',
  fullyParallel: true,
  reporter: 'dot',
  webServer: {
    command: 'node server.cjs',
    url: `http://127.0.0.1:${port}/health`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
  },
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    launchOptions: process.env.BENCH_CHROMIUM
      ? { executablePath: process.env.BENCH_CHROMIUM, args: ['--disable-dev-shm-usage', '--disable-gpu'] }
      : {},
  },
  projects: [
    { name: 'setup', testMatch: /auth\.setup\.ts/, teardown: 'teardown' },
    { name: 'teardown', testMatch: /auth\.teardown\.ts/ },
    {
      name: 'app',
      testMatch: /.*\.spec\.ts/,
      dependencies: ['setup'],
      use: { storageState: authFile },
    },
  ],
});
