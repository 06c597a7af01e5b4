/**
 * The two HTML pages the dashboard serves: the login form (all a visitor
 * without a session ever sees) and the dashboard's shell, which the client
 * modules fill from the API and the event stream. No inline script or style,
 * so the Content-Security-Policy can forbid both.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  // uPlot positions its cursor and legend through element.style.
  "style-src 'self' 'unsafe-inline'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function head(title: string, extra = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/dashboard/assets/dashboard.css">
${extra}</head>`;
}

export function loginPage(error: string | null): string {
  return `${head('cutover · log in')}
<body class="login">
<form id="login-form" method="post" action="/dashboard/login" autocomplete="off">
  <h1>cutover</h1>
  <p>Paste the admin token (<code>&lt;state_dir&gt;/admin-token</code> or <code>CUTOVER_TOKEN</code>).</p>
  <label for="token">Admin token</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
  ${error ? `<p id="login-error" class="error" role="alert">${escapeHtml(error)}</p>` : ''}
  <button type="submit">Log in</button>
</form>
</body>
</html>
`;
}

export function dashboardPage(csrf: string): string {
  return `${head(
    'cutover',
    `<meta name="cutover-csrf" content="${escapeHtml(csrf)}">
<link rel="stylesheet" href="/dashboard/vendor/uPlot.min.css">
<script defer src="/dashboard/vendor/uPlot.iife.min.js"></script>
<script type="module" src="/dashboard/assets/dashboard.js"></script>
`,
  )}
<body>
<header class="top">
  <h1>cutover</h1>
  <span id="connection" class="connection" data-state="connecting">connecting…</span>
  <span id="router" class="router-in-use" hidden></span>
  <button id="logout" type="button" class="quiet">Log out</button>
</header>
<p id="notice" class="notice" role="status" hidden></p>
<main>
  <section id="deploy-wave" class="panel" hidden></section>
  <div id="services" class="services"></div>
  <section id="flags" class="panel">
    <h2>Feature flags <small id="flags-environment"></small></h2>
    <table><thead><tr><th>flag</th><th>state</th><th>rollout</th><th>version</th><th></th></tr></thead><tbody id="flag-rows"></tbody></table>
    <p id="flags-empty" class="muted" hidden>No flags yet.</p>
  </section>
</main>
<dialog id="confirm" aria-labelledby="confirm-title">
  <form method="dialog">
    <h2 id="confirm-title"></h2>
    <p id="confirm-detail"></p>
    <div class="actions">
      <button id="confirm-cancel" value="cancel" type="submit" class="quiet">Cancel</button>
      <button id="confirm-ok" value="ok" type="submit" class="danger">Confirm</button>
    </div>
  </form>
</dialog>
</body>
</html>
`;
}
