// canaryflow's dashboard: reads the daemon's JSON API, is told of every
// change by GET /v1/events (Server-Sent Events, resumed by the browser
// with Last-Event-ID), and draws its charts as SVG itself.
"use strict";

const state = {
  csrf: "", status: null, deployments: new Map(), executions: new Map(), revisions: new Map(),
  selected: "", pinned: false, view: null, samples: new Map(), marks: new Map(), pipeline: true,
};
// Every event the page applied, with when: tests read how fast a change shows.
window.__canaryflow = { applied: [] };

const $ = (id) => document.getElementById(id);
const el = (tag, attrs, ...kids) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v; else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
};
const svgEl = (tag, attrs) => {
  const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  return e;
};

async function api(method, path, body) {
  const opts = { method, headers: {}, credentials: "same-origin" };
  if (method !== "GET") {
    opts.headers["Content-Type"] = "application/json";
    opts.headers["X-CSRF-Token"] = state.csrf;
    if (body !== undefined) opts.body = JSON.stringify(body);
  }
  const resp = await fetch(path, opts);
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!resp.ok) {
    const err = new Error((data && data.error) || `${method} ${path}: ${resp.status}`);
    err.status = resp.status;
    throw err;
  }
  return data;
}

// ---- formatting ----
function dur(ns) {
  if (!ns) return "0s";
  const s = ns / 1e9;
  if (s < 60) return `${+s.toFixed(2)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${Math.round(s % 60) ? Math.round(s % 60) + "s" : ""}`;
  return `${+(s / 3600).toFixed(1)}h`;
}
function secs(ms) { return ms < 1000 ? `${ms}ms` : dur(ms * 1e6); }
function age(t) {
  const s = Math.max(0, (Date.now() - Date.parse(t)) / 1000);
  if (s < 60) return `${Math.floor(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
const when = (t) => (t ? new Date(t).toLocaleTimeString() : "");
function version(service, rev) {
  if (!rev) return "—";
  const r = state.revisions.get(`${service}/${rev}`);
  return r ? r.version : `revision ${rev}`;
}
const done = (d) => ["Succeeded", "Failed", "Stopped"].includes(d.status);
const active = (d) => !done(d) && d.status !== "Queued";
function phase(d) {
  if (done(d)) return d.rolledBack ? `${d.status}, rolled back` : d.status;
  if (d.step === "RollingBack") return `Rolling back (${d.outcome || "stopped"})`;
  return d.step && d.step !== d.status ? `${d.status} · ${d.step}` : d.status;
}
function errorRate(d) {
  const a = d.alarm || {};
  if (!a.requests) return "—";
  return `${((100 * a.errors) / a.requests).toFixed(1)}%`;
}
function splitBar(green) {
  const bar = el("span", { class: "bar", role: "img", "aria-label": `${100 - green}% blue, ${green}% green` });
  // Widths through the CSSOM: the page's policy allows no style attribute.
  const b = el("span", { class: "b" }), g = el("span", { class: "g" });
  b.style.width = `${100 - green}%`;
  g.style.width = `${green}%`;
  bar.append(b, g);
  return bar;
}
function splitText(d) {
  if (done(d)) return d.status === "Succeeded" ? "100% new" : "0% new";
  return `${100 - d.greenPercent}% / ${d.greenPercent}%`;
}

// ---- rendering ----
function render() {
  renderSummary();
  renderServices();
  renderTable();
  renderDetail();
  renderExecutions();
  renderRollback();
}

function renderSummary() {
  const s = $("summary");
  s.replaceChildren();
  if (!state.status) return;
  for (const svc of state.status.services || []) {
    const green = state.status.traffic ? Math.round(state.status.traffic.greenPercent) : 0;
    s.append(el("span", {}, el("strong", { text: svc.service }), ` live ${version(svc.service, svc.liveRevision)} `, splitBar(green),
      el("span", { class: "split-text", text: ` ${100 - green}% / ${green}%` })));
  }
}

function renderServices() {
  const box = $("services");
  box.replaceChildren();
  if (!state.status || !(state.status.services || []).length) {
    box.append(el("p", { class: "muted", text: "No service deployed yet." }));
    return;
  }
  const t = state.status.traffic || {};
  for (const svc of state.status.services) {
    const w = svc.weights || {};
    const div = el("div", { class: "service" });
    div.append(el("p", {}, el("strong", { text: svc.service }), ` — live ${version(svc.service, svc.liveRevision)}` +
      (svc.activeDeployment ? `, deployment ${svc.activeDeployment} in progress` : "")));
    for (const ts of svc.taskSets || []) {
      const side = ts.id === w.blue ? "blue" : ts.id === w.green ? "green" : "";
      const grp = side && t[side] && t[side].taskSet === ts.id ? t[side] : null;
      const share = side === "green" ? w.greenPercent : side === "blue" ? 100 - (w.greenPercent || 0) : 0;
      const tasks = (ts.tasks || []).filter((k) => k.running).length;
      const health = grp ? `${grp.healthy} healthy, ${grp.unhealthy} unhealthy` : "health unknown";
      div.append(el("p", { class: "taskset" }, `${ts.id} (${ts.status}, ${version(svc.service, ts.revision)}): ${tasks} of ${(ts.tasks || []).length} tasks running, ${health}; ${share}% of production`));
    }
    box.append(div);
  }
}

function sortedDeployments() {
  return [...state.deployments.values()].sort((a, b) => (a.deploymentId < b.deploymentId ? 1 : -1));
}

function renderTable() {
  const body = $("deployments").tBodies[0];
  body.replaceChildren();
  for (const d of sortedDeployments()) {
    const tr = el("tr", { "data-id": d.deploymentId, tabindex: "0" });
    if (d.deploymentId === state.selected) tr.classList.add("selected");
    tr.append(
      el("td", { text: d.deploymentId }),
      el("td", { text: d.service }),
      el("td", { text: `${version(d.service, d.previousRevision)} → ${version(d.service, d.revision)}` }),
      el("td", {}, el("span", { class: `tag st-${d.status}`, text: phase(d) })),
      el("td", { class: "split" }, done(d) ? "" : splitBar(d.greenPercent), el("span", { text: ` ${splitText(d)}` })),
      el("td", { class: `errors alarm-${(d.alarm || {}).state || ""}`, text: errorRate(d) }),
      el("td", { text: age(d.createTime) }),
    );
    const pick = () => select(d.deploymentId, true);
    tr.addEventListener("click", pick);
    tr.addEventListener("keydown", (e) => { if (e.key === "Enter") pick(); });
    body.append(tr);
  }
}

function renderDetail() {
  const d = state.deployments.get(state.selected);
  $("detail").hidden = !d;
  if (!d) return;
  $("detail-id").textContent = `${d.deploymentId} · ${version(d.service, d.previousRevision)} → ${version(d.service, d.revision)}`;
  const head = $("detail-head");
  head.replaceChildren(el("p", {}, el("span", { class: `tag st-${d.status}`, id: "detail-status", text: phase(d) }),
    ` green ${d.greenPercent}% · created ${when(d.createTime)} by ${d.creator || "user"}`));
  if (d.error) head.append(el("p", { class: "why", text: `${d.error.code}: ${d.error.message}` }));
  if (d.rolledBack) head.append(el("p", { class: "rollback", text: `Rolled back at ${when(d.completeTime)}: ${d.error ? d.error.message : "stopped"}` }));
  if (d.status === "Ready") head.append(el("p", { text: `Waiting for approval until ${when(d.waitUntil)}.` }));
  const live = active(d);
  $("act-approve").disabled = !(d.status === "Ready" && !d.approved);
  $("act-promote").disabled = !(live && d.greenPercent < 100 && !d.promoteRequested);
  $("act-stop-rollback").disabled = !live;
  $("act-stop").disabled = !live;
  renderAlarm(d);
  renderSettings(d);
  renderTimeline();
  renderCharts(d);
}

function renderAlarm(d) {
  const a = d.alarm || {};
  const box = $("alarm");
  box.replaceChildren(el("p", {}, "State ", el("strong", { class: `alarm-${a.state || ""}`, id: "alarm-state", text: a.state || "not evaluated yet" }),
    a.evaluatedAt ? ` at ${when(a.evaluatedAt)}` : ""));
  if (a.reason) box.append(el("p", { text: a.reason }));
  const e = a.last;
  if (e) {
    const p = (n) => `${(n * 1000).toFixed(0)}ms`;
    const rows = [
      ["error rate", `${e.errorRatePercent.toFixed(1)}% (${e.errors} of ${e.requests})`, `${e.errorRateThreshold}%`, e.breached === "error_rate"],
      ["p99 latency", p(e.p99Seconds), e.p99ThresholdSeconds ? p(e.p99ThresholdSeconds) : "none", e.breached === "p99_latency"],
      ["unhealthy targets", `${e.unhealthy}`, `${e.unhealthyThreshold}`, e.breached === "unhealthy_targets"],
    ];
    const t = el("table", { class: "evaluation" }, el("thead", {}, el("tr", {}, el("th", { text: "last period" }), el("th", { text: "value" }), el("th", { text: "threshold" }), el("th", { text: "breach" }))));
    const tb = el("tbody");
    for (const [name, v, th, br] of rows) tb.append(el("tr", {}, el("td", { text: name }), el("td", { text: v }), el("td", { text: th }), el("td", { text: br ? "BREACHED" : "no" })));
    t.append(tb);
    box.append(el("div", { class: "scroll" }, t));
    if (e.missing) box.append(el("p", { class: "muted", text: "Too few requests in the period to judge it." }));
  }
}

function renderSettings(d) {
  const s = d.settings || {};
  const st = s.strategy || {};
  const al = s.alarms || {};
  const rows = [
    ["strategy", st.type + (st.percent ? ` ${st.percent}% every ${dur(st.interval)}` : "")],
    ["ready", `${s.readyAction}${s.readyAction === "STOP_DEPLOYMENT" ? ` (wait ${dur(s.readyWait)})` : ""}`],
    ["termination wait", dur(s.terminationWait)],
    ["alarms", al.disabled ? "off" : `error rate ≥ ${al.errorRatePercent}%, ${al.datapointsToAlarm} of ${al.evaluationPeriods} periods of ${dur(al.period)}` + (al.p99Latency ? `, p99 > ${dur(al.p99Latency)}` : "")],
    ["auto rollback", (s.autoRollback || []).join(", ") || "none"],
    ["tasks", `${s.desiredCount}`],
    ["from", s.source ? `${(s.source.files || []).join(" and ")}${s.source.tag ? " at " + s.source.tag : ""}` : "—"],
  ];
  const dl = $("settings");
  dl.replaceChildren();
  for (const [k, v] of rows) dl.append(el("dt", { text: k }), el("dd", { text: v }));
}

function renderTimeline() {
  const ol = $("timeline");
  ol.replaceChildren();
  const v = state.view;
  if (!v || v.deployment.deploymentId !== state.selected) return;
  for (const ev of v.lifecycleEvents || []) {
    let text = `${ev.lifecycleEventName}: ${ev.status}`;
    if (ev.startTime) text += ` · ${when(ev.startTime)}`;
    if (ev.startTime && ev.endTime) text += ` (${secs(Date.parse(ev.endTime) - Date.parse(ev.startTime))})`;
    if (ev.hook) text += ` · hook ${ev.hook}`;
    const li = el("li", { class: `ev-${ev.status}`, text });
    if (ev.diagnostics) li.append(el("div", { class: "muted", text: ev.diagnostics }));
    ol.append(li);
  }
}

// ---- charts ----
const W = 600, H = 120, PAD = 24;

function series(id) {
  const ss = state.samples.get(id) || [];
  const out = { t: [], split: [], rate: { blue: [], green: [] }, errors: { blue: [], green: [] }, p99: { blue: [], green: [] } };
  for (let i = 0; i < ss.length; i++) {
    const s = ss[i], t = Date.parse(s.time);
    out.split.push([t, s.greenPercent]);
    if (i === 0) continue;
    const p = ss[i - 1], dt = (t - Date.parse(p.time)) / 1000;
    if (dt <= 0) continue;
    for (const side of ["blue", "green"]) {
      const a = s[side], b = p[side];
      const sameSet = a.taskSet === b.taskSet && a.requests >= b.requests;
      const req = sameSet ? a.requests - b.requests : 0, errs = sameSet ? a.errors - b.errors : 0;
      out.rate[side].push([t, req / dt]);
      out.errors[side].push([t, req ? (100 * errs) / req : 0]);
      out.p99[side].push([t, a.p99Seconds * 1000]);
    }
  }
  return out;
}

function drawChart(svg, lines, opts) {
  svg.replaceChildren();
  const all = lines.flatMap((l) => l.points);
  const marks = state.marks.get(state.selected) || [];
  const ts = all.map((p) => p[0]).concat(marks.map((m) => m.t));
  if (!ts.length) {
    svg.append(Object.assign(svgEl("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }), { textContent: "no samples yet" }));
    return;
  }
  const t0 = Math.min(...ts), t1 = Math.max(...ts, t0 + 1000);
  const ymax = opts.ymax || Math.max(1, ...all.map((p) => p[1])) * 1.1;
  const x = (t) => PAD + ((W - 2 * PAD) * (t - t0)) / (t1 - t0);
  const y = (v) => H - PAD / 2 - ((H - PAD) * v) / ymax;
  svg.append(svgEl("line", { x1: PAD, y1: y(0), x2: W - PAD, y2: y(0), stroke: "#999" }));
  const top = opts.ymax || ymax / 1.1;
  const label = svgEl("text", { x: 2, y: y(top) + 4 });
  label.textContent = `${+top.toFixed(1)}`;
  svg.append(label);
  for (const m of marks) {
    const cls = m.kind === "alarm" ? "alarm" : "step";
    svg.append(svgEl("line", { class: cls, x1: x(m.t), y1: 4, x2: x(m.t), y2: H - PAD / 2, "data-mark": m.kind }));
    if (opts.labels) {
      const tx = svgEl("text", { x: x(m.t) + 3, y: 12, class: cls });
      tx.textContent = m.label;
      svg.append(tx);
    }
  }
  for (const l of lines) {
    if (!l.points.length) continue;
    let pts = l.points.map((p) => `${x(p[0]).toFixed(1)},${y(p[1]).toFixed(1)}`);
    if (l.area) pts = [`${x(l.points[0][0]).toFixed(1)},${y(0)}`, ...pts, `${x(l.points[l.points.length - 1][0]).toFixed(1)},${y(0)}`];
    svg.append(svgEl(l.area ? "polygon" : "polyline", { class: l.cls, points: pts.join(" ") }));
    if (!l.area) {
      const [t, v] = l.points[l.points.length - 1];
      svg.append(svgEl("circle", { class: l.cls, cx: x(t).toFixed(1), cy: y(v).toFixed(1), r: 3 }));
    }
  }
}

function stepped(points) {
  const out = [];
  for (const p of points) {
    if (out.length) out.push([p[0], out[out.length - 1][1]]);
    out.push(p);
  }
  return out;
}

function renderCharts(d) {
  const s = series(d.deploymentId);
  const split = s.split.slice();
  for (const m of state.marks.get(d.deploymentId) || []) if (m.kind === "step") split.push([m.t, m.value]);
  split.sort((a, b) => a[0] - b[0]);
  if (!split.length || split[split.length - 1][1] !== d.greenPercent) split.push([Date.now(), d.greenPercent]);
  const svg = $("chart-split");
  svg.setAttribute("data-green-percent", String(d.greenPercent));
  drawChart(svg, [{ cls: "area", area: true, points: stepped(split) }], { ymax: 100, labels: true });
  drawChart($("chart-rate"), [{ cls: "blue", points: s.rate.blue }, { cls: "green", points: s.rate.green }], {});
  drawChart($("chart-errors"), [{ cls: "blue", points: s.errors.blue }, { cls: "green", points: s.errors.green }], {});
  drawChart($("chart-p99"), [{ cls: "blue", points: s.p99.blue }, { cls: "green", points: s.p99.green }], {});
  $("legend-blue").textContent = `blue ${version(d.service, d.previousRevision)}`;
  $("legend-green").textContent = `green ${version(d.service, d.revision)}`;
}

function addMark(id, mark) {
  if (!state.marks.has(id)) state.marks.set(id, []);
  state.marks.get(id).push(mark);
}

// ---- pipelines ----
function renderExecutions() {
  const body = $("executions").tBodies[0];
  body.replaceChildren();
  $("pipeline-form").hidden = !state.pipeline;
  const es = [...state.executions.values()].sort((a, b) => (a.id < b.id ? 1 : -1));
  if (!state.pipeline) {
    body.append(el("tr", {}, el("td", { colspan: "6", class: "muted", text: "No pipeline section in canaryflow.yaml." })));
    return;
  }
  for (const e of es) {
    const stages = (e.stages || []).map((s) => {
      let t = `${s.name} ${s.status}`;
      if (s.start && s.end) t += ` ${secs(Date.parse(s.end) - Date.parse(s.start))}`;
      return t;
    }).join(" · ");
    const logBtn = el("button", { type: "button", text: "logs" });
    logBtn.addEventListener("click", (ev) => { ev.stopPropagation(); followLog(e.id); });
    body.append(el("tr", { "data-id": e.id }, el("td", { text: e.id }), el("td", { text: e.tag }),
      el("td", {}, el("span", { class: `tag st-${e.status}`, text: e.status })), el("td", { text: stages }),
      el("td", { text: e.deployment_id || "" }), el("td", {}, logBtn)));
  }
}

let logAbort = null;
async function followLog(id) {
  if (logAbort) logAbort.abort();
  logAbort = new AbortController();
  const pre = $("log");
  pre.hidden = false;
  pre.textContent = `log of ${id}\n`;
  try {
    const resp = await fetch(`/v1/executions/${encodeURIComponent(id)}/logs?follow=1`, { signal: logAbort.signal, credentials: "same-origin" });
    const reader = resp.body.getReader();
    const dec = new TextDecoder();
    for (;;) {
      const { value, done: end } = await reader.read();
      if (end) break;
      pre.textContent += dec.decode(value, { stream: true });
      pre.scrollTop = pre.scrollHeight;
    }
  } catch (e) {
    if (e.name !== "AbortError") pre.textContent += `\n(${e.message})`;
  }
}

function renderRollback() {
  const sel = $("rollback-to");
  const cur = sel.value;
  sel.replaceChildren();
  const live = new Set(((state.status && state.status.services) || []).map((s) => `${s.service}/${s.liveRevision}`));
  const seen = new Set();
  for (const r of [...state.revisions.values()].reverse()) {
    if (live.has(`${r.service}/${r.number}`) || seen.has(r.version)) continue;
    seen.add(r.version);
    sel.append(el("option", { value: r.version, text: `${r.version} (revision ${r.number})` }));
  }
  if (cur) sel.value = cur;
  $("rollback-button").disabled = !sel.options.length;
}

// ---- actions ----
function confirmAction(text) {
  return new Promise((resolve) => {
    const dlg = $("confirm");
    $("confirm-text").textContent = text;
    dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
    dlg.returnValue = "";
    dlg.showModal();
  });
}

function showResult(text, isError) {
  const r = $("result");
  r.textContent = text;
  r.classList.toggle("error", !!isError);
}

async function act(question, method, path, body, success) {
  if (!(await confirmAction(question))) {
    showResult("Cancelled.");
    return;
  }
  try {
    const out = await api(method, path, body);
    showResult(success(out));
    await refresh();
  } catch (e) {
    showResult(`Refused: ${e.message}`, true);
  }
}

function wireActions() {
  const id = () => state.selected;
  $("act-approve").addEventListener("click", () => act(`Approve ${id()}? Production traffic starts to move.`, "POST",
    `/v1/deployments/${id()}/approve`, undefined, () => `Approved ${id()}.`));
  $("act-promote").addEventListener("click", () => act(`Promote ${id()} now? All production traffic moves to the new version at once.`, "POST",
    `/v1/deployments/${id()}/promote`, undefined, () => `Promoted ${id()}: all traffic moves to green.`));
  $("act-stop-rollback").addEventListener("click", () => act(`Stop ${id()} and roll back to blue?`, "POST",
    `/v1/deployments/${id()}/stop`, { rollback: true }, () => `Stopping ${id()} with rollback.`));
  $("act-stop").addEventListener("click", () => act(`Stop ${id()} and leave traffic as it is?`, "POST",
    `/v1/deployments/${id()}/stop`, { rollback: false }, () => `Stopped ${id()}; traffic left as it is.`));
  $("rollback-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const to = $("rollback-to").value;
    act(`Roll back to ${to}, all at once?`, "POST", "/v1/rollback", { to }, (d) => `Rolling back to ${to}: ${d.deploymentId}.`);
  });
  $("pipeline-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const tag = $("pipeline-tag").value.trim();
    act(`Start the pipeline for ${tag}?`, "POST", "/v1/executions", { tag }, (x) => `Pipeline execution ${x.id} of ${tag}: ${x.status}.`);
  });
}

// ---- data ----
async function loadRevisions() {
  for (const r of (await api("GET", "/v1/revisions")) || []) state.revisions.set(`${r.service}/${r.number}`, r);
}

async function loadView() {
  if (!state.selected) return;
  const id = state.selected;
  const v = await api("GET", `/v1/deployments/${encodeURIComponent(id)}`);
  if (id === state.selected) {
    state.view = v;
    state.deployments.set(id, v.deployment);
  }
}

async function select(id, byHand) {
  if (byHand) state.pinned = true;
  state.selected = id;
  if (!state.samples.has(id)) state.samples.set(id, (await api("GET", `/v1/deployments/${encodeURIComponent(id)}/samples`)) || []);
  await loadView();
  render();
}

function autoSelect() {
  if (state.pinned && state.deployments.has(state.selected)) return;
  const ds = sortedDeployments();
  const pick = ds.find(active) || ds[0];
  if (pick && pick.deploymentId !== state.selected) {
    state.selected = pick.deploymentId;
    state.view = null;
  }
}

async function refresh() {
  const [status, ds] = await Promise.all([api("GET", "/v1/status"), api("GET", "/v1/deployments")]);
  state.status = status;
  for (const d of ds || []) state.deployments.set(d.deploymentId, d);
  if (state.pipeline) {
    try {
      for (const e of (await api("GET", "/v1/executions")) || []) state.executions.set(e.id, e);
    } catch (e) {
      if (e.status === 404) state.pipeline = false; else throw e;
    }
  }
  await loadRevisions();
  autoSelect();
  if (state.selected && !state.samples.has(state.selected)) {
    state.samples.set(state.selected, (await api("GET", `/v1/deployments/${encodeURIComponent(state.selected)}/samples`)) || []);
  }
  await loadView();
  render();
}

// apply takes one event into the state and redraws what it touches.
async function apply(type, ev) {
  const data = ev.data;
  switch (type) {
    case "deployment": {
      const d = data.deployment;
      state.deployments.set(d.deploymentId, d);
      if (!state.revisions.has(`${d.service}/${d.revision}`)) await loadRevisions();
      autoSelect();
      render();
      record(type, ev);
      // The timeline and the services follow; the row above is already drawn.
      await Promise.all([d.deploymentId === state.selected ? loadView() : null,
        api("GET", "/v1/status").then((s) => { state.status = s; })]);
      render();
      break;
    }
    case "traffic": {
      const d = state.deployments.get(data.deploymentId);
      if (d) d.greenPercent = data.greenPercent;
      addMark(data.deploymentId, { kind: "step", t: Date.parse(ev.time), value: data.greenPercent, label: `${data.greenPercent}%` });
      render();
      break;
    }
    case "alarm": {
      const d = state.deployments.get(data.deploymentId);
      if (d) d.alarm = data.alarm;
      if (data.alarm.state === "ALARM") addMark(data.deploymentId, { kind: "alarm", t: Date.parse(ev.time), label: "alarm" });
      render();
      break;
    }
    case "pipeline":
      state.executions.set(data.execution.id, data.execution);
      renderExecutions();
      break;
    case "sample": {
      if (!state.samples.has(data.deploymentId)) state.samples.set(data.deploymentId, []);
      state.samples.get(data.deploymentId).push(data);
      if (data.deploymentId === state.selected) renderCharts(state.deployments.get(state.selected));
      break;
    }
    case "reset":
      await refresh();
      break;
  }
  if (type !== "deployment") record(type, ev);
}

function record(type, ev) {
  window.__canaryflow.applied.push({ type, id: ev.id, time: ev.time, data: ev.data, at: Date.now() });
}

function listen() {
  const src = new EventSource("/v1/events");
  let queue = Promise.resolve();
  src.onopen = () => { $("conn").textContent = "live"; };
  src.onerror = () => { $("conn").textContent = "reconnecting…"; };
  for (const type of ["deployment", "traffic", "alarm", "pipeline", "sample", "reset"]) {
    src.addEventListener(type, (msg) => {
      const ev = JSON.parse(msg.data);
      queue = queue.then(() => apply(type, ev)).catch((e) => showResult(e.message, true));
    });
  }
}

async function main() {
  try {
    state.csrf = (await api("GET", "/ui/session")).csrf;
  } catch (e) {
    $("signin").hidden = false;
    $("conn").textContent = "signed out";
    return;
  }
  $("app").hidden = false;
  wireActions();
  listen();
  await refresh();
  setInterval(renderTable, 10000); // ages only: every change itself is pushed
}

main().catch((e) => showResult(e.message, true));
