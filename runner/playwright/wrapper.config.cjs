// hypertest's Playwright config around the user's own, the same file for every unit: what differs from
// unit to unit is read from the JSON file HT_WRAPPER_SETTINGS names (runner/wrapper_config.py), so
// Playwright's transform cache (keyed on a file's path and text) serves every unit after the first.
//
// The user's config is loaded as Playwright loads it (user_config.cjs): an ES module config makes this
// export a promise, which Playwright's config loader awaits as it awaits any config file. This file stays
// CommonJS, so the warm host can evaluate it again for every unit (it drops it from require.cache; an ES
// module would stay cached for good).
'use strict';
const fs = require('fs');

function unitSettings() {
  const file = process.env.HT_WRAPPER_SETTINGS;
  if (!file) throw new Error('hypertest: HT_WRAPPER_SETTINGS is not set (this config is run by hypertest\'s runner)');
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

const settings = unitSettings();
// Workers load this config again, with TEST_WORKER_INDEX set; the main process has no such variable.
const inWorker = process.env.TEST_WORKER_INDEX !== undefined;

function isChromium(...uses) {
  for (const use of uses) {
    if (!use) continue;
    if (use.browserName) return use.browserName === 'chromium';
    if (use.defaultBrowserType) return use.defaultBrowserType === 'chromium';
  }
  return true;
}

function withChromium(use, inherited) {
  const launch = { ...((inherited && inherited.launchOptions) || {}), ...((use && use.launchOptions) || {}) };
  const executablePath = settings.forcedChromium || launch.executablePath || settings.fallbackChromium;
  if (!executablePath) {
    throw new Error('hypertest: no Chromium found. Set HT_CHROMIUM_PATH, set launchOptions.executablePath ' +
      'in the Playwright config, run `npx playwright install chromium`, or install the chromium package.');
  }
  const args = [...(launch.args || [])];
  for (const flag of settings.chromiumArgs) if (!args.includes(flag)) args.push(flag);
  return { ...(use || {}), headless: true, launchOptions: { ...launch, executablePath, args } };
}

// Playwright's web server plugin sets PLAYWRIGHT_TEST_BASE_URL, the `baseURL` fixture's default, in its main
// process (the workers inherit it) for each entry given by `port` alone, whenever the config has a webServer:
// `http://localhost:<port>`, the last such entry winning. A unit's own config has no webServer (the run
// session, or the sandbox's, holds the servers), so it sets the variable as that plugin would.
function setBaseUrlAsWebServerDoes(servers) {
  for (const server of servers || []) {
    if (server && server.port && !server.url) process.env.PLAYWRIGHT_TEST_BASE_URL = `http://localhost:${server.port}`;
  }
}

function wrapperConfig({ user, abs, absList, withOverride, webServers, playwright }) {
  if (settings.omitWebServer && !inWorker) setBaseUrlAsWebServerDoes(webServers());
  // The warm browser is decided at each launch in the worker, on its effective options (warm_launch.cjs).
  if (inWorker) require(settings.warmLaunchModule).useWarmBrowser(() => playwright().dir, settings.warmBrowser);

  // Playwright empties every project's outputDir when a run starts, so units running at the same time
  // would empty each other's. The main process of a unit gets a folder of its own to empty; the workers
  // that run the tests get the user's folder, so testInfo.outputDir is the path Playwright would give.
  const outputDirOf = (projectOutputDir) => {
    if (!(settings.outputDirInPlace && inWorker)) return projectOutputDir === undefined ? undefined : settings.outputDir;
    return projectOutputDir === undefined ? undefined : abs(projectOutputDir);
  };

  const topUse = withOverride(user.use || {});
  const projects = Array.isArray(user.projects) ? user.projects : undefined;
  const hooks = settings.omitGlobalHooks ? {} : {
    globalSetup: user.globalSetup === undefined ? undefined : absList(user.globalSetup),
    globalTeardown: user.globalTeardown === undefined ? undefined : absList(user.globalTeardown),
  };

  return {
    ...user,
    testDir: abs(user.testDir ?? '.'),
    snapshotDir: user.snapshotDir === undefined ? undefined : abs(user.snapshotDir),
    tsconfig: user.tsconfig === undefined ? undefined : abs(user.tsconfig),
    globalSetup: undefined,
    globalTeardown: undefined,
    ...hooks,
    webServer: settings.omitWebServer ? undefined : webServers(),
    outputDir: (settings.outputDirInPlace && inWorker) ? abs(user.outputDir ?? 'test-results') : settings.outputDir,
    workers: 1,
    // the failures the run still allows (hypertest counts across units); else the config's own
    maxFailures: settings.maxFailures ?? user.maxFailures,
    shard: undefined,
    preserveOutput: 'always',
    reporter: [[settings.resultReporter], ['blob', { outputDir: settings.blobDir, fileName: settings.blobName }]],
    use: projects ? topUse : (isChromium(topUse) ? withChromium(topUse, {}) : topUse),
    projects: projects && projects.map((project) => ({
      ...project,
      testDir: project.testDir === undefined ? undefined : abs(project.testDir),
      snapshotDir: project.snapshotDir === undefined ? undefined : abs(project.snapshotDir),
      outputDir: outputDirOf(project.outputDir),
      use: withOverride(isChromium(project.use, topUse) ? withChromium(project.use, topUse) : project.use),
    })),
  };
}

module.exports = require(settings.userConfigModule).withUserConfig(settings, wrapperConfig);
