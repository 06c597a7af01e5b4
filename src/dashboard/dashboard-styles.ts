/**
 * The dashboard's stylesheet, served at /dashboard/assets/dashboard.css.
 * Kept in a module (not a .css file) so tsc ships it in dist/ with the rest
 * of the server. One column on a phone, a grid of service cards on a laptop.
 */
export const DASHBOARD_CSS = `
:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --card: #ffffff; --text: #1c2330; --muted: #667085; --line: #d9dde3;
  --ok: #1a7f37; --warn: #b26b00; --bad: #c62828; --accent: #2f6feb;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-size: 15px;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #111418; --card: #1a1f26; --text: #e6e9ee; --muted: #98a2b3; --line: #2c333d; --accent: #5b8dff; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); }
h1 { font-size: 1.2rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
h3 { font-size: .8rem; margin: .9rem 0 .35rem; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
code { font-size: .9em; }
small, .muted { color: var(--muted); }
button { font: inherit; border: 1px solid var(--line); background: var(--card); color: var(--text); border-radius: 6px; padding: .35rem .7rem; cursor: pointer; }
button:hover:not(:disabled) { border-color: var(--accent); }
button:disabled { opacity: .45; cursor: default; }
button.danger { background: var(--bad); border-color: var(--bad); color: #fff; }
button.quiet { background: transparent; }
table { width: 100%; border-collapse: collapse; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 500; }

.login { display: grid; place-items: center; min-height: 100vh; padding: 1rem; }
.login form { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1.5rem; width: min(100%, 26rem); display: grid; gap: .6rem; }
.login input { font: inherit; padding: .5rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); color: var(--text); }
.error { color: var(--bad); margin: 0; }

.top { display: flex; align-items: center; gap: 1rem; padding: .7rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 2; }
.top #logout { margin-left: auto; flex-shrink: 0; }
.connection { font-size: .85rem; color: var(--muted); }
.connection::before { content: "●"; margin-right: .3rem; color: var(--warn); }
.connection[data-state="live"]::before { color: var(--ok); }
.connection[data-state="offline"]::before { color: var(--bad); }
/* On a phone the address gives way (ellipsis) rather than widening the header. */
.router-in-use { font-size: .85rem; color: var(--muted); border: 1px solid var(--line); border-radius: 99px; padding: 0 .5rem; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.notice { margin: .7rem 1rem 0; padding: .5rem .8rem; border-radius: 6px; background: var(--card); border: 1px solid var(--bad); }
main { padding: 1rem; display: grid; gap: 1rem; }
.services { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(min(100%, 36rem), 1fr)); }
.panel, .service { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem; min-width: 0; }
.service-head { display: flex; flex-wrap: wrap; align-items: baseline; gap: .5rem; }
.service-head .strategy { font-size: .8rem; color: var(--muted); border: 1px solid var(--line); border-radius: 99px; padding: 0 .5rem; }
.phase { font-size: .85rem; color: var(--accent); }
.releases { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: .5rem; margin-top: .6rem; }
/* --release: the release's own color (web/dashboard/release-identity.ts), the same in the bar, the charts and here. */
.release { border: 1px solid var(--line); border-left: 4px solid var(--release, var(--line)); border-radius: 8px; padding: .5rem .6rem; }
.release .role { font-size: .75rem; text-transform: uppercase; color: var(--muted); }
.release .version { font-size: 1.15rem; font-weight: 600; }
.swatch { display: inline-block; width: .75em; height: .75em; border-radius: 2px; margin-right: .35em; background: var(--release, var(--muted)); }
.instances { display: flex; flex-wrap: wrap; gap: .25rem; margin-top: .3rem; }
.instance { font-size: .75rem; padding: 0 .4rem; border-radius: 4px; border: 1px solid var(--line); }
.instance[data-health="healthy"] { border-color: var(--ok); color: var(--ok); }
.instance[data-health="unhealthy"] { border-color: var(--bad); color: var(--bad); }
.split { display: flex; height: 1.6rem; border-radius: 6px; overflow: hidden; border: 1px solid var(--line); }
/* Each part grows with its weight but is never narrower than its label: "v2 5%" is read whole, not cut. */
.split > span { display: flex; align-items: center; justify-content: center; min-width: max-content; padding: 0 .4rem; font-size: .8rem; color: #fff; white-space: nowrap; transition: flex-grow .4s; }
.split > [data-role="none"] { background: var(--muted); }
.observed { font-size: .85rem; margin: .3rem 0 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(11rem, 1fr)); gap: .5rem; }
.chart { min-width: 0; }
.chart .title { font-size: .75rem; color: var(--muted); }
.chart .uplot { font-size: .7rem; }
.chart .u-legend { font-size: .72rem; text-align: left; }
.chart .u-legend .u-series { padding: 0 .3rem 0 0; }
.actions { display: flex; flex-wrap: wrap; gap: .4rem; margin-top: .6rem; }
.message { font-size: .85rem; color: var(--bad); margin: .4rem 0 0; }
.maintenance { font-size: .9rem; color: var(--bad); border: 1px solid var(--bad); border-radius: 4px; padding: .3rem .5rem; margin: .4rem 0; }
h3 .operation-id { text-transform: none; letter-spacing: 0; font-family: ui-monospace, monospace; font-weight: 400; }
.timeline { list-style: none; margin: 0; padding: 0; max-height: 16rem; overflow: auto; font-size: .85rem; }
.timeline li { display: grid; grid-template-columns: 4.2rem 9.5rem 1fr; gap: .4rem; padding: .15rem 0; border-bottom: 1px dashed var(--line); }
.timeline .at { color: var(--muted); font-variant-numeric: tabular-nums; }
.timeline .type { font-family: ui-monospace, monospace; font-size: .78rem; overflow-wrap: anywhere; }
.timeline li[data-level="error"] .type, .timeline li[data-kind="aborted"] .type { color: var(--bad); }
.timeline li[data-kind="switched"] .type, .timeline li[data-kind="succeeded"] .type, .timeline li[data-kind="promoted"] .type { color: var(--ok); font-weight: 600; }
.outcome-succeeded { color: var(--ok); }
.outcome-failed, .outcome-aborted { color: var(--bad); }
.flag-on { color: var(--ok); font-weight: 600; }
.flag-off { color: var(--muted); }
.badge-stale { margin-left: .4rem; padding: 0 .35rem; border: 1px solid var(--line); border-radius: 4px; font-size: .72rem; color: var(--muted); }
dialog { border: 1px solid var(--line); border-radius: 10px; background: var(--card); color: var(--text); width: min(92vw, 26rem); }
dialog::backdrop { background: rgb(0 0 0 / .45); }
dialog .actions { justify-content: flex-end; }
@media (max-width: 40rem) {
  main { padding: .5rem; }
  .timeline li { grid-template-columns: 4.2rem 1fr; }
  .timeline .message-text { grid-column: 1 / -1; }
  th:nth-child(4), td:nth-child(4) { display: none; }
}
`;
