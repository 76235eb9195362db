// hypertest: give this Node process another unit's environment, as if it had been started with it (the warm
// host and a kept Playwright worker serve unit after unit). Required by absolute path.
'use strict';

// process.env becomes exactly env, but for the variables named in keep, which keep their current values.
function replaceEnvironment(env, keep = []) {
  const kept = keep.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]]);
  for (const name of Object.keys(process.env)) {
    if (!Object.prototype.hasOwnProperty.call(env, name)) delete process.env[name];
  }
  Object.assign(process.env, env, Object.fromEntries(kept));
}

module.exports = { replaceEnvironment };
