// The application under test: a "build" of about 3 s, then a small HTTP app with a slow sign-in
// and a slow JSON back end. Appends `server-start` (and `server-listening`) to $BENCH_COUNTS so the
// benchmark can count how many servers a run started.
const fs = require('fs');
const http = require('http');

const port = Number(process.env.BENCH_PORT || 39517);
const buildMs = Number(process.env.BENCH_BUILD_MS || 3000);
const loginMs = Number(process.env.BENCH_LOGIN_MS || 1500);

function count(event) {
  if (process.env.BENCH_COUNTS) fs.appendFileSync(process.env.BENCH_COUNTS, `${event} pid=${process.pid} t=${Date.now()}\n`);
}

count('server-start');

const orders = Array.from({ length: 30 }, (_, n) => `order ${n + 1}`);

const page = (title, body) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body>${body}</body></html>`;

const loginPage = page('Sign in', `
  <h1>Sign in</h1>
  <form method="post" action="/login">
    <label>User <input name="user" autocomplete="username"></label>
    <label>Password <input name="password" type="password" autocomplete="current-password"></label>
    <button type="submit">Sign in</button>
  </form>`);

// One page per section; its "Load" button asks /api/<section> for data and then filters on the server.
const appPage = (section, user) => page(section, `
  <h1>${section}</h1>
  <p id="user">signed in as ${user}</p>
  <button id="load">Load ${section}</button>
  <input id="filter" aria-label="Filter" placeholder="Filter">
  <ul id="items"></ul>
  <p id="status">idle</p>
  <script>
    const params = new URLSearchParams(location.search);
    const latency = Number(params.get('latency') || 300);
    const status = document.getElementById('status');
    const list = document.getElementById('items');
    async function fetchItems(filter, delay) {
      const response = await fetch('/api/${section}?delay=' + delay + '&filter=' + encodeURIComponent(filter));
      if (!response.ok) { status.textContent = 'error ' + response.status; return null; }
      return response.json();
    }
    function render(items) {
      list.replaceChildren(...items.map((text) => Object.assign(document.createElement('li'), { textContent: text })));
    }
    document.getElementById('load').addEventListener('click', async () => {
      status.textContent = 'loading';
      const items = await fetchItems('', latency);
      if (items) { render(items); status.textContent = 'loaded'; }
    });
    document.getElementById('filter').addEventListener('input', async (event) => {
      status.textContent = 'filtering';
      const items = await fetchItems(event.target.value, Math.round(latency / 2));
      if (items && document.getElementById('filter').value === event.target.value) {
        render(items); status.textContent = 'filtered';
      }
    });
  </script>`);

function session(request) {
  const match = /(?:^|;\s*)session=([^;]+)/.exec(request.headers.cookie || '');
  return match ? decodeURIComponent(match[1]) : undefined;
}

function send(response, status, type, body, headers = {}) {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...headers });
  response.end(body);
}

function handle(request, response) {
  const url = new URL(request.url, `http://${request.headers.host || 'localhost'}`);
  if (url.pathname === '/health') return send(response, 200, 'text/plain', 'ok');
  if (url.pathname === '/login' && request.method === 'GET') return send(response, 200, 'text/html', loginPage);
  if (url.pathname === '/login' && request.method === 'POST') {
    let body = '';
    request.on('data', (chunk) => { body += chunk; });
    request.on('end', () => {
      const user = new URLSearchParams(body).get('user') || 'anonymous';
      // A slow identity provider.
      setTimeout(() => send(response, 303, 'text/plain', '', {
        location: '/orders', 'set-cookie': `session=${encodeURIComponent(user)}; Path=/; HttpOnly; SameSite=Lax`,
      }), loginMs);
    });
    return undefined;
  }
  const user = session(request);
  const api = /^\/api\/(\w+)$/.exec(url.pathname);
  if (api) {
    if (!user) return send(response, 401, 'application/json', '{"error":"signed out"}');
    const delay = Math.min(Number(url.searchParams.get('delay') || 0), 10_000);
    const filter = url.searchParams.get('filter') || '';
    const items = orders.map((o) => o.replace('order', api[1])).filter((item) => item.includes(filter));
    setTimeout(() => send(response, 200, 'application/json', JSON.stringify(items)), delay);
    return undefined;
  }
  const section = /^\/(\w+)$/.exec(url.pathname);
  if (section) {
    if (!user) return send(response, 302, 'text/plain', '', { location: '/login' });
    return send(response, 200, 'text/html', appPage(section[1], user));
  }
  return send(response, 404, 'text/plain', 'not found');
}

// The simulated build: the port opens only after it.
setTimeout(() => {
  const server = http.createServer(handle);
  server.on('error', (error) => {
    count(`server-error ${error.code || error.message}`);
    console.error(`server.cjs: ${error.message}`);
    process.exit(1);
  });
  server.listen(port, '127.0.0.1', () => {
    count('server-listening');
    console.log(`server.cjs: listening on http://127.0.0.1:${port}`);
  });
}, buildMs);
