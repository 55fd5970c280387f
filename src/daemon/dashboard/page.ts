/**
 * The live dashboard: one static HTML page with inline CSS and JS (no build step, no CDN). It
 * listens to /events (server-sent "snapshot" events, one per statistics tick) and draws with
 * canvas. Element ids (m-*) are stable: the end-to-end test reads them.
 */
import { DASHBOARD_SCRIPT } from './script.js';
import { DASHBOARD_STYLE } from './style.js';

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>kadmium dashboard</title>
<style>${DASHBOARD_STYLE}</style>
</head>
<body>
<header>
  <h1>kadmium</h1>
  <span id="m-id" class="mono" title="our node id">-</span>
  <span id="m-address" class="mono">-</span>
  <span id="m-joined" class="pill">connecting</span>
  <span id="m-live" class="pill off" title="server-sent events">offline</span>
  <span class="spacer"></span>
  <a href="/metrics">metrics</a> <a href="/openapi.json">API</a>
</header>
<main>
  <section class="tiles">
    <div class="tile"><b id="m-nodes">-</b><span>nodes in <i id="m-buckets">-</i> buckets</span></div>
    <div class="tile"><b id="m-in-rate">-</b><span>queries in /s</span></div>
    <div class="tile"><b id="m-out-rate">-</b><span>queries out /s</span></div>
    <div class="tile"><b id="m-err-rate">-</b><span>errors + timeouts /s</span></div>
    <div class="tile"><b id="m-in-total">-</b><span>queries received</span></div>
    <div class="tile"><b id="m-out-total">-</b><span>queries sent</span></div>
    <div class="tile"><b id="m-peers">-</b><span>peers for <i id="m-infohashes">-</i> infohashes</span></div>
    <div class="tile"><b id="m-items">-</b><span>BEP 44 items</span></div>
    <div class="tile"><b id="m-lookups">-</b><span>lookups done</span></div>
    <div class="tile"><b id="m-rss">-</b><span>memory (RSS)</span></div>
    <div class="tile"><b id="m-loop">-</b><span>event-loop delay p99 (max <i id="m-loop-max">-</i>)</span></div>
    <div class="tile"><b id="m-gc">-</b><span>GC pauses, <i id="m-gc-ms">-</i> in all (longest <i id="m-gc-max">-</i>)</span></div>
    <div class="tile"><b id="m-uptime">-</b><span>uptime</span></div>
  </section>
  <section class="card wide" id="privacy">
    <h2>What this node keeps about others <small>from /api/privacy; limits are privacy.* config keys (docs/PRIVACY.md)</small></h2>
    <ul id="m-privacy" class="flags"><li class="quiet">loading…</li></ul>
  </section>
  <section class="card wide" id="anomalies">
    <h2>Anomaly flags <small>each tick compared with a rolling baseline (EWMA); see docs/DAEMON.md</small></h2>
    <ul id="m-anomalies" class="flags"><li class="quiet">no anomalies</li></ul>
  </section>
  <section class="card">
    <h2>Message rates <small>per second, last <span id="m-window">-</span></small></h2>
    <canvas id="c-rates" height="190"></canvas>
    <div class="legend"><i class="l-in"></i>queries in <i class="l-out"></i>queries out <i class="l-resp"></i>responses in <i class="l-err"></i>errors + timeouts <i class="l-drop"></i>dropped</div>
  </section>
  <section class="card">
    <h2>Lookup latency <small><span id="m-latency-summary">-</span></small></h2>
    <canvas id="c-latency" height="190"></canvas>
  </section>
  <section class="card">
    <h2>Routing table <small>one row per bucket, one cell per slot (k = <span id="m-k">-</span>)</small></h2>
    <canvas id="c-table" height="240"></canvas>
    <div class="legend"><i class="s-good"></i>good <i class="s-questionable"></i>questionable <i class="s-bad"></i>bad <i class="s-empty"></i>empty slot <i class="s-repl"></i>replacements</div>
  </section>
  <section class="card">
    <h2>Known nodes in XOR space <small>centre = our id; rings = log2 distance</small></h2>
    <canvas id="c-map" height="240"></canvas>
  </section>
  <section class="card wide">
    <h2>Recent lookups <small>queried / responded / failed, hops, found</small></h2>
    <table>
      <thead><tr><th>time</th><th>kind</th><th>target</th><th>duration</th><th>path</th><th>queried</th><th>resp.</th><th>failed</th><th>hops</th><th>found</th></tr></thead>
      <tbody id="m-lookup-rows"><tr><td colspan="10" class="quiet">no lookups yet</td></tr></tbody>
    </table>
  </section>
  <section class="card wide" id="overlay" hidden>
    <h2>Overlay <small>secp256k1 DHT over encrypted TCP; join it with --bootstrap <span id="o-address" class="mono">-</span></small></h2>
    <div class="tiles">
      <div class="tile"><b id="o-contacts">-</b><span>overlay contacts</span></div>
      <div class="tile"><b id="o-items">-</b><span>items (<i id="o-tiers">-</i>)</span></div>
      <div class="tile"><b id="o-lookups">-</b><span>overlay lookups</span></div>
      <div class="tile"><b id="o-lies">-</b><span>lies caught</span></div>
      <div class="tile"><b id="o-busy">-</b><span>busy replies</span></div>
    </div>
    <table>
      <thead><tr><th>kind</th><th>target</th><th>duration</th><th>queried</th><th>resp.</th><th>hops</th></tr></thead>
      <tbody id="o-lookup-rows"><tr><td colspan="6" class="quiet">no overlay lookups yet</td></tr></tbody>
    </table>
  </section>
</main>
<script>${DASHBOARD_SCRIPT}</script>
</body>
</html>
`;
