/**
 * The dashboard's browser code (plain ES2020, no modules): it reads "snapshot" events from
 * /events and redraws the tiles, charts, routing table, XOR map, lookups and flags.
 * Kept free of backticks and dollar-brace so it can live in this template string.
 */
export const DASHBOARD_SCRIPT = String.raw`
'use strict';
var $ = function (id) { return document.getElementById(id); };
var css = getComputedStyle(document.documentElement);
var C = {};
['good', 'q', 'bad', 'empty', 'in', 'out', 'resp', 'err', 'drop', 'dim', 'line', 'ink'].forEach(function (k) {
  C[k] = css.getPropertyValue('--' + k).trim();
});
var last = null;

function fmt(n) {
  if (n === undefined || n === null) return '-';
  if (n >= 1e6) return (n / 1e6).toFixed(1) + 'M';
  if (n >= 1e4) return (n / 1e3).toFixed(1) + 'k';
  return String(Math.round(n * 10) / 10);
}
function bytes(n) { return (n / 1048576).toFixed(0) + ' MiB'; }
function duration(s) {
  if (s < 120) return s + ' s';
  if (s < 7200) return Math.round(s / 60) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}
function ms(v) { return v < 1000 ? Math.round(v) + ' ms' : (v / 1000).toFixed(2) + ' s'; }
function sum(obj, field) {
  var t = 0;
  for (var k in obj) t += obj[k][field] || 0;
  return t;
}
function text(id, value) { var el = $(id); if (el.textContent !== String(value)) el.textContent = value; }

/** A canvas sized for the device's pixel ratio; returns its 2D context and CSS size. */
function surface(id) {
  var c = $(id);
  var w = c.clientWidth, h = Number(c.getAttribute('data-h') || c.getAttribute('height'));
  if (!c.getAttribute('data-h')) c.setAttribute('data-h', String(h));
  var r = window.devicePixelRatio || 1;
  // The table canvas changes height with the bucket count: resize on either dimension.
  if (c.width !== Math.round(w * r) || c.height !== Math.round(h * r)) {
    c.width = Math.round(w * r); c.height = Math.round(h * r);
  }
  c.style.height = h + 'px';
  var g = c.getContext('2d');
  g.setTransform(r, 0, 0, r, 0, 0);
  g.clearRect(0, 0, w, h);
  g.font = '11px system-ui, sans-serif';
  return { g: g, w: w, h: h };
}

// Once: what the node keeps about others and the routers it trusts (changes only with the config).
fetch('/api/privacy').then(function (r) { return r.ok ? r.json() : null; }).then(function (p) {
  if (!p) return;
  var ul = $('m-privacy');
  ul.textContent = '';
  var add = function (text, title) {
    var li = document.createElement('li');
    li.textContent = text;
    if (title) li.title = title;
    ul.appendChild(li);
  };
  add('profile: ' + p.profile + (p.readOnly ? ' (read-only: answers no queries)' : ''));
  if (p.rotation) add('id and port rotation: ' + p.rotation.hides, 'not hidden: ' + p.rotation.doesNotHide);
  p.categories.forEach(function (c) {
    add(c.what + (c.held === null ? '' : ' — ' + c.held + ' held') + ' — kept: ' + c.retention, 'why: ' + c.why);
  });
  p.bootstrap.forEach(function (b) { add('bootstrap router ' + b.router + ' — run by ' + b.operator); });
}, function () {});

function tiles(s) {
  var rates = s.rates[s.rates.length - 1] || { queriesIn: 0, queriesOut: 0, errors: 0, timeouts: 0 };
  var m = s.messages || { inbound: {}, outbound: {} };
  text('m-id', s.id.slice(0, 16) + '...');
  $('m-id').title = s.id;
  text('m-address', 'udp ' + (s.address || '-') + (s.nat ? ' · NAT ' + s.nat.kind + ' as ' + s.nat.external : ''));
  $('m-address').title = s.nat ? 'mapping ' + s.nat.mapping + ', filtering ' + s.nat.filtering + '; punches ' + s.punch.punched + ' ok, ' + s.punch.failed + ' failed' : 'NAT not probed (dht.discoverNat)';
  var joined = $('m-joined');
  joined.textContent = s.bootstrapped ? 'joined' : (s.lastBootstrap && !s.lastBootstrap.ok ? 'bootstrap failing, retrying' : 'joining');
  joined.className = s.bootstrapped ? 'pill' : 'pill wait';
  joined.title = s.lastBootstrap ? s.lastBootstrap.message : '';
  text('m-nodes', s.routingTable.size);
  text('m-buckets', s.routingTable.buckets.length);
  text('m-in-rate', fmt(rates.queriesIn));
  text('m-out-rate', fmt(rates.queriesOut));
  text('m-err-rate', fmt(rates.errors + rates.timeouts));
  text('m-in-total', sum(m.inbound, 'rx'));
  text('m-out-total', sum(m.outbound, 'tx'));
  text('m-peers', s.storage.peers);
  text('m-infohashes', s.storage.infohashes);
  text('m-items', s.storage.items === undefined ? 'n/a' : s.storage.items);
  var lookups = 0;
  for (var k in s.latency) lookups += s.latency[k].count;
  text('m-lookups', lookups);
  text('m-rss', bytes(s.memory.rss));
  if (s.runtime) {
    text('m-loop', ms(s.runtime.eventLoopDelayMs.p99));
    text('m-loop-max', ms(s.runtime.eventLoopDelayMs.max));
    text('m-gc', s.runtime.gc.count);
    text('m-gc-ms', ms(s.runtime.gc.totalPauseMs));
    text('m-gc-max', ms(s.runtime.gc.maxPauseMs));
  }
  text('m-uptime', duration(s.uptimeSeconds));
  text('m-k', s.k);
  text('m-window', duration(Math.round(s.rates.length * (s.rates.length > 1 ? (s.rates[1].at - s.rates[0].at) / 1000 : 1))));
}

function rateChart(s) {
  var p = surface('c-rates'), g = p.g, w = p.w, h = p.h;
  var series = [['queriesIn', C.in], ['queriesOut', C.out], ['responsesIn', C.resp], ['errs', C.err], ['dropped', C.drop]];
  var data = s.rates.map(function (r) { var o = Object.assign({}, r); o.errs = r.errors + r.timeouts; return o; });
  var max = 1;
  data.forEach(function (r) { series.forEach(function (x) { max = Math.max(max, r[x[0]]); }); });
  var left = 34, bottom = h - 14, top = 6, n = Math.max(data.length, 2);
  g.strokeStyle = C.line; g.fillStyle = C.dim;
  for (var i = 0; i <= 4; i++) {
    var y = bottom - (bottom - top) * i / 4;
    g.beginPath(); g.moveTo(left, y); g.lineTo(w, y); g.stroke();
    g.fillText(fmt(max * i / 4), 2, y + 4);
  }
  g.fillText('now', w - 22, h - 2);
  series.forEach(function (x) {
    g.strokeStyle = x[1]; g.lineWidth = 1.6; g.beginPath();
    data.forEach(function (r, j) {
      var px = left + (w - left) * (j + n - data.length) / (n - 1);
      var py = bottom - (bottom - top) * r[x[0]] / max;
      if (j === 0) g.moveTo(px, py); else g.lineTo(px, py);
    });
    g.stroke();
  });
  g.lineWidth = 1;
}

function latencyChart(s) {
  var p = surface('c-latency'), g = p.g, w = p.w, h = p.h;
  var bounds = null, counts = null, total = 0;
  for (var k in s.latency) {
    var hist = s.latency[k];
    if (!bounds) { bounds = hist.bounds; counts = hist.counts.map(function () { return 0; }); }
    hist.counts.forEach(function (c, i) { counts[i] += c; });
    total += hist.count;
  }
  if (!bounds || total === 0) { g.fillStyle = C.dim; g.fillText('no lookups yet', 10, 20); text('m-latency-summary', 'no lookups yet'); return; }
  var max = Math.max.apply(null, counts.concat([1]));
  var bw = (w - 10) / counts.length, bottom = h - 28;
  counts.forEach(function (c, i) {
    var bh = (bottom - 10) * c / max;
    g.fillStyle = C.in; g.fillRect(5 + i * bw + 2, bottom - bh, bw - 4, bh);
    g.fillStyle = C.ink; if (c > 0) g.fillText(String(c), 5 + i * bw + 4, bottom - bh - 2);
    g.fillStyle = C.dim;
    var label = i < bounds.length ? (bounds[i] < 1 ? Math.round(bounds[i] * 1000) + 'ms' : bounds[i] + 's') : '>' + bounds[bounds.length - 1] + 's';
    g.fillText(label, 5 + i * bw + 2, h - 12);
    if (i === 0) g.fillText('upper bound of each bar', 5, h - 1);
  });
  var acc = 0, p50 = null, p90 = null;
  counts.forEach(function (c, i) {
    acc += c;
    var b = i < bounds.length ? bounds[i] + ' s' : '> ' + bounds[bounds.length - 1] + ' s';
    if (p50 === null && acc >= total * 0.5) p50 = b;
    if (p90 === null && acc >= total * 0.9) p90 = b;
  });
  text('m-latency-summary', total + ' lookups; median <= ' + p50 + ', 90% <= ' + p90);
}

function tableChart(s) {
  var buckets = s.routingTable.buckets, k = s.k;
  var rowH = Math.max(6, Math.min(26, Math.floor(230 / Math.max(1, buckets.length))));
  var c = $('c-table');
  c.setAttribute('data-h', String(Math.max(60, buckets.length * rowH + 8)));
  var p = surface('c-table'), g = p.g, w = p.w;
  var cell = Math.min(22, (w - 120) / (k + 4));
  buckets.forEach(function (b, i) {
    var y = 4 + i * rowH;
    g.fillStyle = C.dim; if (rowH >= 9) g.fillText('b' + b.index, 2, y + rowH - 2);
    var states = [];
    for (var a = 0; a < b.good; a++) states.push(C.good);
    for (var q = 0; q < b.questionable; q++) states.push(C.q);
    for (var d = 0; d < b.bad; d++) states.push(C.bad);
    for (var j = 0; j < k; j++) {
      g.fillStyle = states[j] || C.empty;
      g.fillRect(34 + j * cell, y, cell - 2, rowH - 2);
    }
    for (var r = 0; r < b.replacements; r++) {
      g.fillStyle = '#74c0fc';
      g.fillRect(34 + (k + 1) * cell + r * (cell / 2), y + 2, cell / 2 - 2, rowH - 6);
    }
    g.fillStyle = C.dim;
    if (rowH >= 9) g.fillText(b.nodes + '/' + k, w - 40, y + rowH - 2);
  });
}

function mapChart(s) {
  var p = surface('c-map'), g = p.g, w = p.w, h = p.h;
  var cx = w / 2, cy = h / 2, R = Math.min(w, h) / 2 - 8;
  // Radius scale: distances span 2^150..2^160 for most nodes; stretch the outer rings.
  var minBits = 160;
  s.map.forEach(function (n) { minBits = Math.min(minBits, n.radius * 160); });
  var lo = Math.max(0, Math.floor(minBits) - 1);
  function radius(n) { return R * Math.max(0.04, (n.radius * 160 - lo) / (160 - lo)); }
  g.strokeStyle = C.line;
  for (var b = 160; b > lo; b -= Math.max(1, Math.ceil((160 - lo) / 6))) {
    var rr = R * (b - lo) / (160 - lo);
    g.beginPath(); g.arc(cx, cy, rr, 0, Math.PI * 2); g.stroke();
    g.fillStyle = C.dim; g.fillText('2^' + b, cx + 2, cy - rr + 10);
  }
  var colour = { good: C.good, questionable: C.q, bad: C.bad };
  s.map.forEach(function (n) {
    var a = n.angle * Math.PI * 2, r = radius(n);
    g.fillStyle = colour[n.state];
    g.beginPath(); g.arc(cx + Math.cos(a) * r, cy + Math.sin(a) * r, 3, 0, Math.PI * 2); g.fill();
  });
  g.fillStyle = C.ink; g.beginPath(); g.arc(cx, cy, 4, 0, Math.PI * 2); g.fill();
  g.fillText('us', cx + 6, cy + 4);
  g.fillStyle = C.dim; g.fillText(s.map.length + ' nodes', 4, h - 4);
}

function lookupRows(s) {
  var rows = s.lookups.slice(0, 12).map(function (l) {
    var q = Math.max(1, l.queried);
    var path = '<span class="path" title="responded ' + l.responded + ', failed ' + l.failed + ', of ' + l.queried + ' queried">' +
      '<span style="width:' + (100 * l.responded / q) + '%;background:' + C.resp + '"></span>' +
      '<span style="width:' + (100 * l.failed / q) + '%;background:' + C.err + '"></span></span>';
    return '<tr><td>' + new Date(l.at).toLocaleTimeString() + '</td><td>' + l.kind + '</td><td class="mono">' + l.target.slice(0, 12) +
      '</td><td>' + ms(l.durationMs) + '</td><td>' + path + '</td><td>' + l.queried + '</td><td>' + l.responded + '</td><td>' + l.failed +
      '</td><td>' + l.hops + '</td><td class="' + (l.ok ? 'ok' : 'fail') + '">' + l.found + '</td></tr>';
  });
  var html = rows.length ? rows.join('') : '<tr><td colspan="10" class="quiet">no lookups yet</td></tr>';
  var body = $('m-lookup-rows');
  if (body.innerHTML !== html) body.innerHTML = html;
}

function esc(t) { return String(t).replace(/[&<>"]/g, function (c) { return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]; }); }

function flags(s) {
  var active = s.anomalies.active, recent = s.anomalies.recent;
  var activeKeys = active.map(function (a) { return a.rule + a.subject + a.since; });
  var items = active.map(function (a) {
    return '<li><b>' + esc(a.rule) + '</b> ' + esc(a.message) + ' <small>since ' + new Date(a.since).toLocaleTimeString() + ', ' + a.ticks + ' tick(s)</small></li>';
  });
  recent.filter(function (a) { return activeKeys.indexOf(a.rule + a.subject + a.since) < 0; }).slice(0, 5).forEach(function (a) {
    items.push('<li class="past"><b>' + esc(a.rule) + '</b> ' + esc(a.message) + ' <small>' + new Date(a.since).toLocaleTimeString() + '</small></li>');
  });
  var html = items.length ? items.join('') : '<li class="quiet">no anomalies: message rates are within their baselines</li>';
  var ul = $('m-anomalies');
  if (ul.innerHTML !== html) ul.innerHTML = html;
}

function overlayPanel(s) {
  var o = s.overlay, card = $('overlay');
  if (!o) { card.hidden = true; return; }
  card.hidden = false;
  text('o-address', o.address);
  text('o-contacts', fmt(o.contacts));
  text('o-items', fmt(o.items.whitelisted + o.items.trusted + o.items.public));
  text('o-tiers', o.items.whitelisted + ' whitelisted, ' + o.items.trusted + ' trusted, ' + o.items.public + ' public');
  text('o-lookups', fmt(o.lookups));
  text('o-lies', fmt(o.lies));
  text('o-busy', fmt(o.busy));
  var rows = o.recentLookups.map(function (l) {
    return '<tr><td>' + esc(l.kind) + '</td><td class="mono">' + esc(l.target.slice(0, 12)) + '</td><td>' + ms(l.durationMs) +
      '</td><td>' + l.queried + '</td><td>' + l.responded + '</td><td>' + l.hops + '</td></tr>';
  });
  var html = rows.length ? rows.join('') : '<tr><td colspan="6" class="quiet">no overlay lookups yet</td></tr>';
  var body = $('o-lookup-rows');
  if (body.innerHTML !== html) body.innerHTML = html;
}

function render(s) {
  last = s;
  tiles(s); rateChart(s); latencyChart(s); tableChart(s); mapChart(s); lookupRows(s); flags(s); overlayPanel(s);
  document.body.setAttribute('data-updated', String(s.at));
}

function connect() {
  var live = $('m-live');
  var es = new EventSource('/events');
  es.addEventListener('snapshot', function (e) {
    live.textContent = 'live'; live.className = 'pill';
    try { render(JSON.parse(e.data)); } catch (err) { console.error(err); }
  });
  es.onerror = function () { live.textContent = 'reconnecting'; live.className = 'pill off'; };
}
window.addEventListener('resize', function () { if (last) render(last); });
connect();
`;
