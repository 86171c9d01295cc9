// hookpost console: a hash-routed page over the /v1 API. The token lives in sessionStorage only (never in a
// URL, never logged) and every request carries it as a bearer header; the server decides what it may see.
import { api, esc, KEY, render } from './lib.js';
import { attemptsPage } from './page-attempts.js';
import { deadLettersPage } from './page-deadletters.js';
import { detailPage } from './page-detail.js';
import { overviewPage } from './page-overview.js';
import { listPage } from './page-webhooks.js';

const nav = document.getElementById('nav');

function signIn(message) {
  nav.hidden = true;
  render(`<h1>Sign in</h1>${message ? `<p class="error" role="alert">${esc(message)}</p>` : ''}
    <form id="signin"><label for="token">API token</label>
    <input id="token" type="password" autocomplete="off" required size="40">
    <button type="submit">Sign in</button></form>
    <p>The token stays in this tab (sessionStorage) and is sent only as an Authorization header.</p>`);
  document.getElementById('signin').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById('token').value.trim());
    // Check the token at once (a missing webhook answers 404 to a good token, 401 to a bad one).
    api('GET', '/v1/webhooks/-')
      .catch((error) => {
        if (error.status === 401) throw error;
      })
      // Where the visitor was headed (a deep link) stays the page to show.
      .then(() => route())
      .catch((error) => signIn(error.message));
  });
}

function failure(error) {
  if (error.status === 401) return signIn(error.message);
  const title =
    error.status === 403 ? 'Not allowed (403)' : error.status === 404 ? 'Not found (404)' : 'Error';
  render(
    `<h1>${title}</h1><p class="error" role="alert">${esc(error.message)}</p><p><a href="#/">Back to webhooks</a></p>`,
  );
}

const ROUTES = [
  [/^\/webhooks\/([^/]+)$/, (m) => detailPage(m[1])],
  [/^\/webhooks\/([^/]+)\/attempts$/, (m, params) => attemptsPage(m[1], params)],
  [/^\/webhooks\/([^/]+)\/dead-letters$/, (m) => deadLettersPage(m[1])],
  [/^\/overview$/, () => overviewPage()],
];

async function route() {
  if (!sessionStorage.getItem(KEY)) return signIn();
  nav.hidden = false;
  const [path, query] = location.hash.slice(1).split('?');
  const params = new URLSearchParams(query ?? '');
  try {
    for (const [re, page] of ROUTES) {
      const m = re.exec(path ?? '');
      if (m)
        return await page(
          m.map((v, i) => (i === 0 ? v : decodeURIComponent(v))),
          params,
        );
    }
    await listPage(params);
  } catch (error) {
    failure(error);
  }
}

document.getElementById('signout').addEventListener('click', () => {
  sessionStorage.removeItem(KEY);
  signIn();
});
window.addEventListener('hashchange', route);
route();
