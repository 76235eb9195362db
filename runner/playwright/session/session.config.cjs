// hypertest: the run session's config, the same file for every session (what differs is in the JSON
// file HT_SESSION_SETTINGS names, runner/session.py). The session runs the run-level parts of the
// user's config once for a whole run: `playwright test -c <this> --pass-with-no-tests <a filter no
// file matches>`. Playwright starts the web servers and runs the user's global setups; our last global
// setup (session.capture.cjs) records the environment they left, says the session is ready and waits
// until hypertest asks it to stop. No test file is loaded and no worker starts; Playwright then runs
// the teardowns the setups returned and the global teardowns, and stops the servers, as at the end of
// its own run.
//
// Everything the user's code can see is the user's config: the same projects (no project of ours),
// options and resolved paths. What differs: the reporter (ours: it records the setups' errors),
// globalTimeout 0 (the session lives as long as the whole run), hypertest.yml's testRunner.use and
// testRunner.webServer, the global hooks or web servers a session was not asked to run, and this file
// as config.configFile. Up to Playwright 1.48 globalSetup is one file: ours, which runs the user's
// through Playwright's own hook loader.
'use strict';
const fs = require('fs');

const settings = JSON.parse(fs.readFileSync(process.env.HT_SESSION_SETTINGS, 'utf8'));
const helpers = require(settings.userConfigModule);

function sessionConfig({ user, playwright, abs, list, withOverride, webServers }) {
  const setups = settings.withGlobalHooks ? list(user.globalSetup).map(abs) : [];
  const teardowns = settings.withGlobalHooks ? list(user.globalTeardown).map(abs) : [];
  const manySetups = helpers.atLeast(playwright().version, 1, 49);  // globalSetup lists came in 1.49
  const optional = (value, map) => (value === undefined ? undefined : map(value));
  return {
    ...user,
    testDir: abs(user.testDir ?? '.'),
    snapshotDir: optional(user.snapshotDir, abs),
    tsconfig: optional(user.tsconfig, abs),
    // Relative to the user's config, as Playwright resolves it (this file lives elsewhere).
    outputDir: abs(user.outputDir ?? 'test-results'),
    use: withOverride(user.use || {}),
    globalSetup: manySetups ? [...setups, settings.captureModule] : settings.captureModule,
    globalTeardown: teardowns.length === 0 ? undefined : (manySetups ? teardowns : teardowns[0]),
    webServer: settings.withWebServer ? webServers() : undefined,
    globalTimeout: 0,
    reporter: [[settings.resultReporter]],
    projects: optional(user.projects, (projects) => projects.map((project) => ({
      ...project,
      testDir: optional(project.testDir, abs),
      snapshotDir: optional(project.snapshotDir, abs),
      outputDir: optional(project.outputDir, abs),
      use: withOverride(project.use),
    }))),
  };
}

module.exports = helpers.withUserConfig(settings, sessionConfig);
