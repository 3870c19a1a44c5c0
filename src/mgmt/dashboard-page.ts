// The dashboard (GET /): one static page, no build step and no framework. It reads /api/v1/status once and then
// lives on /api/v1/events?status=1 (a status event each second plus role, alarm, timeline and call events).
// EventSource sends no Authorization header, so the page trades the token for a session cookie (session.ts).
// The page holds no secrets and no data: without a session it shows only the login form.
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sipha — HA pair</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
  :root { --bg:#0f1419; --card:#1a2129; --line:#2c3640; --fg:#dde3ea; --dim:#8a97a6; --ok:#3fb950; --warn:#d29922;
          --bad:#f85149; --pri:#58a6ff; --bak:#a371f7; }
  * { box-sizing: border-box; }
  body { margin:0; font:14px/1.45 system-ui, sans-serif; background:var(--bg); color:var(--fg); }
  header { display:flex; align-items:center; gap:16px; padding:12px 20px; border-bottom:1px solid var(--line); }
  header h1 { font-size:18px; margin:0; font-weight:600; }
  header .sp { flex:1; }
  main { padding:16px 20px; display:grid; grid-template-columns: 1fr 1fr; gap:16px; max-width:1280px; }
  .wide { grid-column: 1 / -1; }
  .card { background:var(--card); border:1px solid var(--line); border-radius:8px; padding:14px 16px; }
  .card h2 { font-size:13px; text-transform:uppercase; letter-spacing:.06em; color:var(--dim); margin:0 0 10px; }
  .nodes { display:grid; grid-template-columns: 1fr 1fr; gap:16px; }
  .node { border:2px solid var(--line); border-radius:8px; padding:12px 14px; }
  .node.primary { border-color:var(--pri); }
  .node .name { font-size:22px; font-weight:700; }
  .badge { display:inline-block; padding:1px 8px; border-radius:10px; font-size:12px; font-weight:600; }
  .r-primary { background:var(--pri); color:#00172e; } .r-backup { background:var(--bak); color:#1b0838; }
  .r-fault { background:var(--bad); color:#2d0000; } .r-starting, .r-unknown { background:var(--dim); color:#111; }
  .vip { margin-top:6px; color:var(--pri); font-weight:600; }
  .kv { display:grid; grid-template-columns: max-content 1fr; gap:2px 14px; margin-top:8px; }
  .kv dt { color:var(--dim); } .kv dd { margin:0; }
  .ok { color:var(--ok); } .warn { color:var(--warn); } .bad { color:var(--bad); }
  table { border-collapse:collapse; width:100%; } td, th { padding:3px 8px; text-align:left; border-bottom:1px solid var(--line); }
  th { color:var(--dim); font-weight:500; } td.n { text-align:right; font-variant-numeric: tabular-nums; }
  .big { font-size:26px; font-weight:700; font-variant-numeric: tabular-nums; }
  .counters { display:flex; gap:28px; flex-wrap:wrap; margin-bottom:10px; } .counters div span { display:block; color:var(--dim); font-size:12px; }
  #events { max-height:260px; overflow:auto; font:12px/1.5 ui-monospace, monospace; }
  #events div { border-bottom:1px solid var(--line); padding:2px 0; } #events .t { color:var(--dim); }
  .tl { margin:8px 0 14px; } .tl .head { display:flex; gap:12px; font-size:13px; } .tl .head b { min-width:120px; }
  .legend span { display:inline-block; margin-right:14px; font-size:12px; color:var(--dim); }
  .legend i { display:inline-block; width:10px; height:10px; margin-right:4px; border-radius:2px; vertical-align:-1px; }
  button { background:#21262d; color:var(--fg); border:1px solid var(--line); border-radius:6px; padding:6px 12px; cursor:pointer; }
  button:hover { border-color:var(--pri); }
  #live { font-size:12px; } #login { max-width:380px; margin:80px auto; }
  #login input { width:100%; padding:8px; margin:8px 0; background:#0d1117; color:var(--fg); border:1px solid var(--line); border-radius:6px; }
  [hidden] { display:none !important; }
</style>
</head>
<body>
<header>
  <h1>sipha</h1><span id="pairline" class="dim"></span>
  <span class="sp"></span>
  <span id="live" class="bad">● offline</span>
  <button id="switchover" type="button" hidden>Switchover</button>
</header>
<div id="login" class="card" hidden>
  <h2>Sign in</h2>
  <form id="loginform">
    <label for="token">Management API token (management.token_file)</label>
    <input id="token" type="password" autocomplete="current-password">
    <button type="submit">Sign in</button> <span id="loginerr" class="bad"></span>
  </form>
</div>
<main id="app" hidden>
  <section class="card wide">
    <h2>The pair</h2>
    <div class="nodes"><div id="n-self" class="node"></div><div id="n-peer" class="node"></div></div>
  </section>
  <section class="card">
    <h2>Health and sync</h2>
    <dl class="kv" id="health"></dl>
  </section>
  <section class="card">
    <h2>Live counters</h2>
    <div class="counters" id="bigcounters"></div>
    <table id="sipcounters"></table>
  </section>
  <section class="card wide" id="cluster" hidden>
    <h2>Cluster: pairs of the domain, etcd</h2>
    <dl class="kv" id="clusterkv"></dl>
    <table id="pairs"></table>
  </section>
  <section class="card wide">
    <h2>Switchovers (phases to scale)</h2>
    <div class="legend">
      <span><i style="background:#8a97a6"></i>VIP removed by the old primary → decision</span>
      <span><i style="background:#d29922"></i>decision → VIP removed</span>
      <span><i style="background:#58a6ff"></i>→ VIP added</span>
      <span><i style="background:#a371f7"></i>→ announced</span>
      <span><i style="background:#3fb950"></i>→ first request served</span>
    </div>
    <div id="timelines"></div>
  </section>
  <section class="card wide">
    <h2>Events</h2>
    <div id="events"></div>
  </section>
</main>
<script>
"use strict";
var $ = function (id) { return document.getElementById(id); };
var state = { status: null, source: null };
function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return "&#" + c.charCodeAt(0) + ";"; }); }
function cls(ok) { return ok ? "ok" : "bad"; }
function ago(ms) { return ms == null ? "—" : ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(1) + " s"; }
function clock(t) { return new Date(t).toLocaleTimeString([], { hour12: false }); }

function showLogin(msg) { $("app").hidden = true; $("switchover").hidden = true; $("login").hidden = false; $("loginerr").textContent = msg || ""; }
function showApp() { $("login").hidden = true; $("app").hidden = false; $("switchover").hidden = false; }

async function login(token) {
  var r = await fetch("/api/v1/session", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: token }) });
  if (r.status !== 200) { showLogin("wrong token"); return; }
  start();
}
$("loginform").addEventListener("submit", function (e) { e.preventDefault(); login($("token").value); $("token").value = ""; });

async function start() {
  var r = await fetch("/api/v1/status");
  if (r.status === 401) { showLogin(); return; }
  render(await r.json());
  showApp();
  connect();
}

function connect() {
  if (state.source) state.source.close();
  var es = new EventSource("/api/v1/events?status=1");
  state.source = es;
  es.onopen = function () { $("live").className = "ok"; $("live").textContent = "● live"; };
  es.onerror = function () {
    $("live").className = "bad"; $("live").textContent = "● reconnecting";
    // A lost session (node restarted) shows as 401 on a plain request: then log in again.
    fetch("/api/v1/status").then(function (r) { if (r.status === 401) { es.close(); showLogin("session ended"); } });
  };
  es.addEventListener("status", function (m) { render(JSON.parse(m.data)); });
  ["role", "alarm", "timeline", "switchover", "registration", "call"].forEach(function (t) {
    es.addEventListener(t, function (m) { logEvent(t, JSON.parse(m.data)); });
  });
}

function describe(t, d) {
  switch (t) {
    case "role": return "node " + d.node + ": " + d.from + " → " + d.to + " (term " + d.term + ", " + d.cause + ")";
    case "alarm": return (d.state === "cleared" ? "alarm cleared " : "ALARM (" + d.severity + ") ") + d.alarm + ": " + d.detail;
    case "timeline": return "switchover timeline: " + d.node + " " + d.kind + " (" + d.cause + ") term " + d.oldTerm + " → " + d.newTerm + ", " + (d.durationMs == null ? "?" : d.durationMs + " ms");
    case "switchover": return d.phase === "requested" ? "switchover requested on " + d.node : "switchover " + (d.ok ? "done: " + d.primary + " primary in term " + d.term : "refused: " + d.detail);
    case "registration": return "registration " + d.change + ": " + d.aor + " → " + d.contact;
    case "call": return "call " + d.event + ": " + d.caller + " → " + d.callee;
  }
  return t;
}
function logEvent(t, d) {
  var div = document.createElement("div");
  div.innerHTML = '<span class="t">' + clock(d.at) + "</span> " + esc(describe(t, d));
  if (t === "alarm" && d.state !== "cleared") div.className = "bad";
  $("events").prepend(div);
  while ($("events").children.length > 200) $("events").lastChild.remove();
}

function nodeCard(el, id, role, term, extra, holdsVip, vip) {
  el.className = "node" + (role === "primary" ? " primary" : "");
  el.innerHTML = '<div class="name">' + esc(id || "?") + ' <span class="badge r-' + esc(role || "unknown") + '">' + esc(role || "unknown") + "</span></div>" +
    '<div class="vip">' + (holdsVip ? "◆ holds the VIP " + esc(vip) : "&nbsp;") + "</div>" +
    '<dl class="kv"><dt>term</dt><dd>' + term + "</dd>" + extra + "</dl>";
}

function render(s) {
  state.status = s;
  var p = s.peer;
  var vip = (s.vip.address || "").split("/")[0];
  var selfHolds = s.role === "primary" && s.vip.wanted;
  var peerHolds = p.status === "alive" && p.role === "primary";
  $("pairline").textContent = "VIP " + vip + " on " + (selfHolds ? s.node.id : peerHolds ? p.id : "nobody");
  nodeCard($("n-self"), s.node.id + " (this node)", s.role, s.term,
    "<dt>healthy</dt><dd class=" + cls(s.healthy) + ">" + (s.healthy ? "yes" : esc(s.healthReason)) + "</dd>" +
    "<dt>ready</dt><dd class=" + cls(s.ready) + ">" + (s.ready ? "yes" : "no") + "</dd>" +
    "<dt>priority</dt><dd>" + s.node.priority + "</dd>", selfHolds, vip);
  var paths = p.link.paths.map(function (x) { return '<span class="' + cls(x.alive) + '">' + esc(x.peer) + "</span>"; }).join(" ");
  nodeCard($("n-peer"), (p.id || "peer") + " (peer, as seen from " + s.node.id + ")", p.status === "alive" ? p.role : "unknown", p.term,
    "<dt>heard</dt><dd class=" + cls(p.status === "alive") + ">" + esc(p.status) + "</dd>" +
    "<dt>ready</dt><dd class=" + cls(p.ready) + ">" + (p.ready ? "yes" : "no") + "</dd>" +
    "<dt>paths</dt><dd>" + paths + "</dd>", peerHolds, vip);
  var rep = s.replication;
  // A pool of SIP workers (sip.workers > 1): how many are ready, which are down.
  var ws = s.worker.workers || [];
  var wsUp = ws.filter(function (w) { return w.ready; }).length;
  $("health").innerHTML =
    "<dt>witnesses</dt><dd class=" + (s.witnesses.state === "unreachable" ? "bad" : "ok") + ">" + esc(s.witnesses.state) + "</dd>" +
    "<dt>SIP worker</dt><dd class=" + cls(s.worker.ready) + ">" + (s.worker.ready ? "ready" : "not ready") + ", " + s.worker.restarts + " restart(s), loop lag " + (s.worker.loopLagMs == null ? "—" : s.worker.loopLagMs.toFixed(1) + " ms") + "</dd>" +
    (ws.length > 1 ? "<dt>SIP workers</dt><dd class=" + (wsUp === ws.length ? "ok" : "warn") + ">" + wsUp + "/" + ws.length + " ready" + (wsUp === ws.length ? "" : "; down: " + ws.filter(function (w) { return !w.ready; }).map(function (w) { return w.index; }).join(", ")) + "</dd>" : "") +
    "<dt>replication</dt><dd class=" + (rep && rep.synced ? "ok" : "warn") + ">" + (rep ? (rep.synced ? "synced" : "not synced") + (rep.connected ? "" : ", disconnected") : "no report") + "</dd>" +
    "<dt>lag p50 / p99</dt><dd>" + (rep ? ago(rep.lagP50Ms) + " / " + ago(rep.lagP99Ms) : "—") + "</dd>" +
    "<dt>acknowledged</dt><dd>" + (rep ? rep.ackedSeq + " of " + rep.lastSeq : "—") + "</dd>" +
    "<dt>alarms</dt><dd class=" + (s.activeAlarms.length ? "warn" : "ok") + ">" + (s.activeAlarms.length ? s.activeAlarms.map(function (a) { return esc(a.alarm + " (" + a.severity + "): " + a.detail); }).join("<br>") : "none active") + "</dd>";
  var c = s.sip;
  $("bigcounters").innerHTML = c ?
    "<div><span>registrations</span><b class=big>" + c.bindings + "</b></div>" +
    "<div><span>calls</span><b class=big>" + c.dialogs + "</b></div>" +
    "<div><span>SIP in / out</span><b class=big>" + c.messagesIn + " / " + c.messagesOut + "</b></div>" +
    "<div><span>transactions</span><b class=big>" + c.activeTransactions + "</b></div>" : "<div>SIP worker not answering</div>";
  var rows = "<tr><th>requests</th><th></th><th>responses sent</th><th></th></tr>";
  var m = c ? Object.keys(c.requestsByMethod).sort() : [];
  var r = c ? Object.keys(c.responsesByStatus).sort() : [];
  for (var i = 0; i < Math.max(m.length, r.length); i++) {
    rows += "<tr><td>" + esc(m[i] || "") + '</td><td class="n">' + (m[i] ? c.requestsByMethod[m[i]] : "") + "</td><td>" + esc(r[i] || "") + '</td><td class="n">' + (r[i] ? c.responsesByStatus[r[i]] : "") + "</td></tr>";
  }
  $("sipcounters").innerHTML = rows;
  renderCluster(s);
  renderTimelines(s.timelines);
}

// Cluster mode (README "Growing past one pair"): this node's etcd lease and permit, the directory, and every
// pair of the domain with the node holding its permit (the one that may hold its VIP).
function renderCluster(s) {
  var k = s.cluster;
  $("cluster").hidden = !k;
  if (!k) return;
  var e = k.etcd, q = k.quorum, d = s.sip && s.sip.cluster;
  $("clusterkv").innerHTML =
    "<dt>pair</dt><dd>" + esc(k.pairId) + "</dd>" +
    "<dt>etcd</dt><dd class=" + cls(q.etcd === "reachable") + ">" + esc(q.etcd) +
      (q.etcd === "reachable" ? ", renewal " + ago(e.renewRttMs) + ", lease " + ago(e.validForMs) + " left" : e.lastError ? ": " + esc(e.lastError) : "") + "</dd>" +
    "<dt>permit</dt><dd class=" + (q.permit === "held" ? "ok" : q.permit === "lapsed" ? "warn" : "") + ">" +
      (q.permit === "lapsed" ? "lapsed: serving under failsafe" : esc(q.permit)) + (q.fence ? " (fence " + q.fence + ")" : "") + "</dd>" +
    "<dt>directory</dt><dd>" + (d ? d.entries + " AoRs, " + d.pairs + " pairs; " + d.writes + " writes in " + d.txns + " transactions; lookups " +
      Object.keys(d.lookups).map(function (x) { return esc(x) + " " + d.lookups[x]; }).join(", ") : "—") + "</dd>";
  $("pairs").innerHTML = "<tr><th>pair</th><th>primary (permit holder)</th><th>reached at</th></tr>" +
    e.pairs.map(function (p) {
      return "<tr><td>" + esc(p.pair) + (p.pair === k.pairId ? " (this pair)" : "") + '</td><td class="' + (p.holder ? "ok" : "bad") + '">' +
        esc(p.holder || "none") + "</td><td>" + esc(p.target || "—") + "</td></tr>";
    }).join("");
}

var PHASES = [["vipRemovedAt", "#d29922", "VIP removed"], ["vipAddedAt", "#58a6ff", "VIP added"], ["announcedAt", "#a371f7", "announced"], ["firstServedAt", "#3fb950", "first served"]];
function renderTimelines(list) {
  var recent = list.slice(-8).reverse();
  if (!recent.length) { $("timelines").innerHTML = '<div class="t">no switchover yet</div>'; return; }
  // One scale for all rows, so that bars compare: the longest timeline fills the width.
  var spans = recent.map(function (t) {
    var stamps = PHASES.map(function (p) { return t[p[0]]; }).filter(function (x) { return x != null; });
    var start = Math.min.apply(null, [t.detectedAt].concat(stamps));
    var end = Math.max.apply(null, [t.detectedAt].concat(stamps));
    return { t: t, start: start, end: end };
  });
  var maxMs = Math.max.apply(null, spans.map(function (x) { return x.end - x.start; }).concat([1]));
  var W = 900, H = 22;
  $("timelines").innerHTML = spans.map(function (x) {
    var t = x.t, k = W / maxMs;
    var marks = [["detectedAt", "#8a97a6", "decided"]].concat(PHASES).filter(function (p) { return t[p[0]] != null; })
      .map(function (p) { return { at: t[p[0]], color: p[1], label: p[2] }; })
      .sort(function (a, b) { return a.at - b.at; });
    var svg = '<svg width="' + (W + 60) + '" height="' + (H + 16) + '" role="img">';
    for (var i = 1; i < marks.length; i++) {
      var a = marks[i - 1], b = marks[i];
      var x0 = (a.at - x.start) * k, w = Math.max(1, (b.at - a.at) * k);
      svg += '<rect x="' + x0.toFixed(1) + '" y="0" width="' + w.toFixed(1) + '" height="' + H + '" fill="' + b.color + '"><title>' + esc(a.label + " → " + b.label + ": " + (b.at - a.at) + " ms") + "</title></rect>";
      if (w > 34) svg += '<text x="' + (x0 + w / 2).toFixed(1) + '" y="15" fill="#0f1419" font-size="11" text-anchor="middle">' + (b.at - a.at) + " ms</text>";
    }
    marks.forEach(function (mk) { svg += '<line x1="' + ((mk.at - x.start) * k).toFixed(1) + '" x2="' + ((mk.at - x.start) * k).toFixed(1) + '" y1="0" y2="' + (H + 4) + '" stroke="#dde3ea" stroke-width="1"/>'; });
    svg += '<text x="0" y="' + (H + 14) + '" fill="#8a97a6" font-size="11">0</text><text x="' + ((x.end - x.start) * k).toFixed(1) + '" y="' + (H + 14) + '" fill="#8a97a6" font-size="11" text-anchor="middle">' + (x.end - x.start) + " ms</text></svg>";
    return '<div class="tl" data-seq="' + t.seq + '"><div class="head"><b>' + esc(t.node + " " + t.kind) + "</b><span>" + esc(t.cause) + "</span><span>term " + t.oldTerm + " → " + t.newTerm + "</span><span>" + clock(t.detectedAt) + "</span><span>" + (t.durationMs == null ? "in progress" : "total " + t.durationMs + " ms") + "</span>" + (t.synced == null ? "" : "<span class=" + cls(t.synced) + ">" + (t.synced ? "replica synced" : "replica NOT synced") + "</span>") + "</div>" + svg + "</div>";
  }).join("");
}

$("switchover").addEventListener("click", async function () {
  if (!confirm("Hand the VIP to the other node?")) return;
  $("switchover").disabled = true;
  try {
    var r = await fetch("/api/v1/switchover", { method: "POST" });
    var b = await r.json();
    logEvent("switchover", { at: Date.now(), phase: "result", ok: b.ok, detail: b.detail, primary: b.primary, term: b.term });
  } finally { $("switchover").disabled = false; }
});

start();
</script>
</body>
</html>
`;
