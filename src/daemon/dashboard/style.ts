/** The dashboard's CSS: a light, compact grid that fits a laptop screen. */
export const DASHBOARD_STYLE = String.raw`
:root { --bg: #f4f5f7; --card: #fff; --ink: #1d2330; --dim: #6b7280; --line: #e3e6ea;
  --good: #2f9e44; --q: #f2a516; --bad: #d9363e; --empty: #e9ecef; --in: #1c7ed6; --out: #7048e8;
  --resp: #20c997; --err: #e03131; --drop: #868e96; }
* { box-sizing: border-box; }
body { margin: 0; font: 13px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--ink); }
header { display: flex; gap: 12px; align-items: center; padding: 8px 16px; background: #1d2330; color: #fff; }
header h1 { font-size: 17px; margin: 0 8px 0 0; letter-spacing: .5px; }
header a { color: #a5d8ff; }
.spacer { flex: 1; }
.mono { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; }
.pill { padding: 1px 8px; border-radius: 10px; background: var(--good); font-size: 12px; }
.pill.off, .pill.wait { background: var(--q); color: #222; }
main { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 10px; padding: 10px 16px; max-width: 1500px; margin: 0 auto; }
.tiles { grid-column: 1 / -1; display: grid; grid-template-columns: repeat(auto-fit, minmax(118px, 1fr)); gap: 8px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 6px 10px; }
.tile b { display: block; font-size: 20px; font-variant-numeric: tabular-nums; }
.tile span { color: var(--dim); font-size: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; min-width: 0; }
.card.wide { grid-column: 1 / -1; }
h2 { font-size: 14px; margin: 0 0 6px; }
h2 small { color: var(--dim); font-weight: normal; margin-left: 6px; }
canvas { width: 100%; display: block; }
.legend { color: var(--dim); font-size: 12px; margin-top: 4px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 10px; border-radius: 2px; vertical-align: -1px; }
.l-in { background: var(--in); } .l-out { background: var(--out); } .l-resp { background: var(--resp); }
.l-err { background: var(--err); } .l-drop { background: var(--drop); }
.s-good { background: var(--good); } .s-questionable { background: var(--q); } .s-bad { background: var(--bad); }
.s-empty { background: var(--empty); border: 1px solid #ccc; } .s-repl { background: #74c0fc; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: 2px 6px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { color: var(--dim); font-weight: normal; font-size: 12px; }
td.ok { color: var(--good); } td.fail { color: var(--bad); }
.path { display: inline-flex; height: 10px; width: 160px; background: var(--empty); border-radius: 2px; overflow: hidden; vertical-align: middle; }
.path span { display: block; height: 100%; }
.flags { list-style: none; margin: 0; padding: 0; }
.flags li { padding: 3px 8px; margin: 2px 0; border-left: 4px solid var(--bad); background: #fff5f5; }
.flags li.past { border-color: var(--drop); background: #f8f9fa; color: var(--dim); }
.flags li.quiet, .quiet { border: 0; background: none; color: var(--dim); }
[hidden] { display: none !important; }
#overlay .tiles { margin-bottom: 8px; }
@media (max-width: 900px) { main { grid-template-columns: 1fr; } }
`;
