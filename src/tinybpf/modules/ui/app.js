// The daemon's web UI: plain DOM and fetch against the REST API, refreshed every second; no build step.
"use strict";
const history = {};
const $ = (id) => document.getElementById(id);

async function api(method, path, body) {
  const response = await fetch(path, {method, headers: {"Content-Type": "application/json"},
                                      body: body ? JSON.stringify(body) : undefined, credentials: "same-origin"});
  const value = await response.json();
  if (!response.ok) throw new Error(value.error || response.statusText);
  return value;
}

function cell(row, text) { const td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }

function button(label, action) {
  const b = document.createElement("button");
  b.textContent = label;
  b.onclick = () => action().then(refresh).catch((e) => { $("status").textContent = e.message; });
  return b;
}

function drawBars(entries) {
  const svgNS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNS, "svg");
  svg.setAttribute("width", "360"); svg.setAttribute("height", "80");
  const values = entries.map((e) => Number(Array.isArray(e.value) ? e.value.reduce((a, b) => a + b, 0) : e.value) || 0);
  const top = Math.max(1, ...values);
  values.forEach((v, i) => {
    const r = document.createElementNS(svgNS, "rect");
    const w = 360 / Math.max(values.length, 1);
    r.setAttribute("x", i * w); r.setAttribute("width", Math.max(w - 2, 1));
    r.setAttribute("y", 80 - 78 * v / top); r.setAttribute("height", 78 * v / top); r.setAttribute("class", "bar");
    svg.appendChild(r);
  });
  return svg;
}

function spark(name, values) {
  const canvas = document.createElement("canvas");
  canvas.width = 200; canvas.height = 30;
  const ctx = canvas.getContext("2d");
  const top = Math.max(1, ...values), bottom = Math.min(...values);
  ctx.strokeStyle = "#3b7ddd"; ctx.beginPath();
  values.forEach((v, i) => ctx.lineTo(i * 200 / Math.max(values.length - 1, 1), 29 - 28 * (v - bottom) / Math.max(top - bottom, 1)));
  ctx.stroke();
  const div = document.createElement("div");
  div.textContent = `${name}: ${values[values.length - 1]} runs `;
  div.appendChild(canvas);
  return div;
}

async function refresh() {
  const modules = await api("GET", "/v1/modules");
  $("status").textContent = `${modules.length} modules`;
  const body = $("modules").querySelector("tbody");
  body.replaceChildren();
  const maps = $("maps");
  const mapBlocks = [];
  for (const m of modules) {
    const row = document.createElement("tr");
    cell(row, m.name); cell(row, m.status); cell(row, m.digest.slice(7, 19));
    cell(row, Object.entries(m.programs).map(([n, id]) => `${n}#${id}`).join(", ")); cell(row, m.links.length);
    const actions = cell(row, "");
    actions.appendChild(m.status === "attached" ? button("detach", () => api("POST", `/v1/modules/${m.name}/detach`))
                                                : button("attach", () => api("POST", `/v1/modules/${m.name}/attach`, {})));
    actions.appendChild(button("unload", () => api("DELETE", `/v1/modules/${m.name}`)));
    body.appendChild(row);
    for (const name of m.maps) {
      if (["bss", "data", "rodata", "kconfig"].includes(name)) continue;
      const entries = await api("GET", `/v1/modules/${m.name}/maps/${name}?limit=64`);
      const block = document.createElement("div");
      block.className = "map";
      const title = document.createElement("h3");
      title.textContent = `${m.name} / ${name} (${entries.length} entries)`;
      block.appendChild(title);
      const table = document.createElement("table");
      for (const e of entries.slice(0, 16)) {
        const r = document.createElement("tr");
        cell(r, JSON.stringify(e.key)); cell(r, JSON.stringify(e.value));
        table.appendChild(r);
      }
      block.appendChild(table);
      if (name.startsWith("hist_") || entries.length > 1) block.appendChild(drawBars(entries));
      mapBlocks.push(block);
    }
  }
  maps.replaceChildren(...mapBlocks);
  const programs = await api("GET", "/v1/programs");
  const sparks = [];
  for (const p of programs) {
    const key = `${p.name}#${p.id}`;
    if (!modules.some((m) => Object.values(m.programs).includes(p.id))) continue;
    (history[key] = history[key] || []).push(p.run_cnt);
    if (history[key].length > 60) history[key].shift();
    sparks.push(spark(key, history[key]));
  }
  $("sparks").replaceChildren(...sparks);
}

function listen() {
  const source = new EventSource("/v1/events");
  source.addEventListener("change", (event) => {
    const row = JSON.parse(event.data);
    const line = `${new Date(row.ts * 1000).toISOString()} ${row.who} ${row.action} ${row.subject} ${row.result}\n`;
    $("events").textContent = (line + $("events").textContent).slice(0, 20000);
  });
}

$("login").onsubmit = (e) => {
  e.preventDefault();
  document.cookie = `tinybpf_token=${encodeURIComponent($("token").value)}; path=/; SameSite=Strict`;
  refresh().catch((err) => { $("status").textContent = err.message; });
};
$("load").onsubmit = (e) => {
  e.preventDefault();
  api("POST", "/v1/modules", {reference: $("ref").value, insecure: $("insecure").checked, attach: $("attach").checked})
    .then(refresh).catch((err) => { $("status").textContent = err.message; });
};

if (location.hash.startsWith("#token=")) {  // a link with the token logs in, like the form
  document.cookie = `tinybpf_token=${location.hash.slice(7)}; path=/; SameSite=Strict`;
}
listen();
refresh().catch((err) => { $("status").textContent = err.message; });
setInterval(() => refresh().catch((err) => { $("status").textContent = err.message; }), 1000);
