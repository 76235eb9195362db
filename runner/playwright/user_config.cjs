// hypertest: what the generated configs (one unit's, a run session's) share: the user's Playwright
// config loaded, its paths made absolute (the generated configs live in another folder), and the
// overrides of hypertest.yml (testRunner.use, testRunner.webServer) applied. Required by absolute path.
'use strict';
const path = require('path');

function list(value) {
  return value === undefined || value === null ? [] : (Array.isArray(value) ? value : [value]);
}

function userConfig(settings) {
  const loaded = require(settings.userConfig);
  const user = (loaded && loaded.__esModule && 'default' in loaded) ? loaded.default : (loaded.default ?? loaded);
  const configDir = path.dirname(settings.userConfig);
  const abs = (value) => (typeof value === 'string' ? path.resolve(configDir, value) : value);
  return {
    user,
    abs,
    absList: (value) => (Array.isArray(value) ? value.map(abs) : abs(value)),
    list,
    // testRunner.use goes over the config's `use` (top level and every project).
    withOverride: (use) => (settings.useOverride ? { ...(use || {}), ...settings.useOverride } : use),
    // testRunner.webServer: null (absent) keeps the config's, false removes it, else replaces it.
    webServers: () => {
      const configured = settings.webServerOverride === null ? user.webServer
        : (settings.webServerOverride === false ? undefined : settings.webServerOverride);
      if (configured === undefined || configured === null) return undefined;
      return list(configured).map((server) => ({ ...server, cwd: abs(server.cwd ?? '.') }));
    },
  };
}

module.exports = { userConfig };
