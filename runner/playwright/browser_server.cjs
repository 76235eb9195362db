// hypertest: one Chromium kept running across units (a warm Lambda sandbox, a local slot), served through
// Playwright's public browser-server API (`chromium.launchServer`) of the project's own playwright-core.
// Arguments: the file descriptor of its end of a socket pair (runner/child_channel.py), and JSON {cli,
// executablePath, args, headless}. Writes one JSON line {wsEndpoint, browserPid} to the socket once the
// browser listens. Ends when its owner closes the socket (or ends) or when the browser goes away.
'use strict';
const net = require('net');
const { createRequire } = require('module');

function playwrightCore(cli) {
  // The playwright-core that the project's Playwright CLI uses: beside `playwright`, else beside the CLI.
  const fromCli = createRequire(cli);
  try {
    return createRequire(fromCli.resolve('playwright/package.json')).resolve('playwright-core');
  } catch {
    return fromCli.resolve('playwright-core');
  }
}

async function main() {
  const channel = new net.Socket({ fd: Number(process.argv[2]), readable: true, writable: true });
  const options = JSON.parse(process.argv[3]);
  const { chromium } = require(playwrightCore(options.cli));
  const server = await chromium.launchServer({
    executablePath: options.executablePath,
    args: options.args,
    headless: options.headless,
    host: '127.0.0.1',
    port: 0,
    handleSIGINT: false,
    timeout: options.launchTimeoutMs,
  });
  let closing = false;
  const close = () => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(0), 5000).unref();
    server.close().catch(() => {}).finally(() => process.exit(0));
  };
  server.on('close', () => process.exit(0)); // the browser exited or crashed: so does its server
  channel.on('end', close);
  channel.on('close', close);
  channel.on('error', close);
  channel.resume();
  const child = server.process();
  channel.write(JSON.stringify({ wsEndpoint: server.wsEndpoint(), browserPid: child ? child.pid : null }) + '\n');
}

main().catch((error) => {
  process.stderr.write(`hypertest: the browser server did not start: ${(error && error.stack) || error}\n`);
  process.exit(1);
});
