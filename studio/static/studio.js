// framescore studio: open, watch, hear, edit, re-compose. Plain JavaScript, no build step, nothing fetched
// from elsewhere: the page talks only to its own server (studio/app.py).
"use strict";

const $ = (id) => document.getElementById(id);
const studio = { job: null, plan: null, history: [], at: -1, frames: [], playing: false,
                 firstSound: null, composedAt: null, lastLoad: null };
window.studio = studio;  // for the browser test and the curious

// ----- talking to the server ----------------------------------------------------------------------------------
async function api(url, options = {}) {
  const r = await fetch(url, options);
  const body = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

async function waitFor(id) {
  for (;;) {
    const job = await api(`/api/jobs/${id}`);
    $("status").textContent = job.status === "done" ? "" : `${job.status}: ${job.stage}`;
    if (job.status === "done") return job;
    if (job.status === "failed") throw new Error(job.error || "the job failed");
    await new Promise((ok) => setTimeout(ok, 250));
  }
}

function settings() {
  const out = { engine: $("engine").value, seed: $("seed").value };
  for (const el of document.querySelectorAll("[id^=o-]")) if (el.value) out[el.id.slice(2)] = el.value;
  return out;
}

async function openJob() {
  $("open-error").textContent = "";
  const form = new FormData();
  const file = $("file").files[0];
  if (file) form.append("file", file);
  else if ($("path").value.trim()) form.append("path", $("path").value.trim());
  else form.append("text", $("words").value);
  form.append("settings", JSON.stringify(settings()));
  await run(() => api("/api/jobs", { method: "POST", body: form }), "open-error");
}

async function recompose(bars) {
  $("edit-error").textContent = "";
  const plan = planFromEditor();
  if (!plan) return;
  await run(() => api(`/api/jobs/${studio.job.id}/compose`, {
    method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ plan, bars }) }),
    "edit-error");
}

async function run(start, errorBox) {
  // a job: started, waited for, kept in the history and shown; its one-line error beside what started it
  studio.composedAt = performance.now();
  try {
    const { id } = await start();
    const job = await waitFor(id);
    remember(job.id);
    await show(job);
  } catch (e) {
    $(errorBox).textContent = e.message;
    $("status").textContent = "";
  }
}

function remember(id) {
  studio.history = studio.history.slice(0, studio.at + 1);
  studio.history.push(id);
  studio.at = studio.history.length - 1;
}

async function step(by) {
  const at = studio.at + by;
  if (at < 0 || at >= studio.history.length) return;
  studio.at = at;
  await show(await api(`/api/jobs/${studio.history[at]}`));
}

// ----- showing a job ------------------------------------------------------------------------------------------
async function show(job) {
  stop();
  studio.job = job;
  studio.plan = JSON.parse(JSON.stringify(job.plan));
  $("player").hidden = $("edit").hidden = $("downloads").hidden = false;
  $("undo").disabled = studio.at <= 0;
  $("redo").disabled = studio.at >= studio.history.length - 1;
  const base = `/api/jobs/${job.id}/files/`;
  const video = $("video");
  if (job.video_file) { video.hidden = false; video.src = base + job.video_file; video.load(); }
  else { video.hidden = true; video.removeAttribute("src"); }
  const stems = $("stems");
  stems.innerHTML = "";
  for (const name of job.stems) {
    const row = document.createElement("div");
    row.innerHTML = `<button class="mute" title="mute">M</button> <button class="solo" title="solo">S</button> ` +
      `<span>${name}</span>`;
    const audio = document.createElement("audio");
    audio.preload = "auto";
    audio.src = `${base}stems/${name}.wav`;
    audio.dataset.stem = name;
    row.appendChild(audio);
    row.querySelector(".mute").onclick = (e) => { e.target.classList.toggle("on"); mix(); };
    row.querySelector(".solo").onclick = (e) => { e.target.classList.toggle("on"); mix(); };
    stems.appendChild(row);
  }
  studio.frames = await Promise.all(job.frames.map((f) => new Promise((ok) => {
    const img = new Image();
    img.onload = () => ok({ t: f.t, img });
    img.onerror = () => ok({ t: f.t, img: null });
    img.src = f.url;
  })));
  editor(job.plan);
  downloads(job);
  draw(0);
  studio.lastLoad = job.id;  // shown whole: its timeline drawn
}

function audios() { return [...document.querySelectorAll("#stems audio")]; }

function mix() {
  const rows = [...document.querySelectorAll("#stems > div")];
  const solo = rows.some((r) => r.querySelector(".solo").classList.contains("on"));
  for (const r of rows) {
    const muted = r.querySelector(".mute").classList.contains("on");
    const soloed = r.querySelector(".solo").classList.contains("on");
    r.querySelector("audio").muted = muted || (solo && !soloed);
  }
}

function now() {
  const a = audios()[0];
  return a ? a.currentTime : 0;
}

function play() {
  if (studio.playing) { stop(); return; }
  const t = now();
  studio.playing = true;
  $("play").textContent = "Pause";
  for (const a of audios()) { a.currentTime = t; a.play(); }
  const video = $("video");
  if (!video.hidden) { video.currentTime = t; video.play(); }
  const first = audios()[0];
  if (first) first.addEventListener("playing", () => {
    if (studio.firstSound === null && studio.composedAt !== null)
      studio.firstSound = (performance.now() - studio.composedAt) / 1000;
  }, { once: true });
  tick();
}

function stop() {
  studio.playing = false;
  $("play").textContent = "Play";
  for (const a of audios()) a.pause();
  $("video").pause();
}

function seek(t) {
  for (const a of audios()) a.currentTime = t;
  if (!$("video").hidden) $("video").currentTime = t;
  draw(t);
}

function tick() {
  const t = now();
  const all = audios();
  for (const a of all.slice(1)) if (Math.abs(a.currentTime - t) > 0.06) a.currentTime = t;  // keep the stems together
  const video = $("video");
  if (!video.hidden && Math.abs(video.currentTime - t) > 0.1) video.currentTime = t;
  draw(t);
  if (all[0] && all[0].ended) stop();
  if (studio.playing) requestAnimationFrame(tick);
}

// ----- drawing: the timeline and the piano roll ----------------------------------------------------------------
const COLOURS = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7"];
function colour(key) {
  let h = 0;
  for (const c of String(key)) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return COLOURS[h % COLOURS.length];
}

function clock(t) {
  const m = Math.floor(t / 60), s = (t - 60 * m).toFixed(1).padStart(4, "0");
  return `${m}:${s}`;
}

function draw(t) {
  const job = studio.job;
  if (!job) return;
  $("clock").textContent = clock(t);
  const tl = job.timeline, dur = Math.max(tl.duration, 1e-3);
  const c = $("timeline"), g = c.getContext("2d"), W = c.width, H = c.height;
  const x = (s) => (s / dur) * W;
  g.clearRect(0, 0, W, H);
  studio.frames.forEach((f, i) => {  // the frames, each until the next
    const end = i + 1 < studio.frames.length ? studio.frames[i + 1].t : dur;
    if (f.img) g.drawImage(f.img, x(f.t), 0, Math.max(1, x(end) - x(f.t)), 40);
  });
  for (const s of tl.sections) {
    const end = s.start_bar + s.n_bars < tl.bars.length ? tl.bars[s.start_bar + s.n_bars].start : dur;
    g.fillStyle = colour(s.theme || s.role);
    g.globalAlpha = 0.35;
    g.fillRect(x(s.start), 42, x(end) - x(s.start), 24);
    g.globalAlpha = 1;
    g.fillStyle = "#222";
    g.font = "12px sans-serif";
    g.fillText(`${s.label}${s.theme ? "" : " (" + s.role + ")"}`, x(s.start) + 3, 58);
    if (s.cut_sec !== null) { g.strokeStyle = "#b00020"; g.beginPath(); g.moveTo(x(s.cut_sec), 0);
      g.lineTo(x(s.cut_sec), H); g.stroke(); }
  }
  g.font = "10px monospace";
  for (const b of tl.bars) {
    g.strokeStyle = "#ccc"; g.beginPath(); g.moveTo(x(b.start), 66); g.lineTo(x(b.start), H); g.stroke();
    g.fillStyle = "#333";
    g.fillText(b.chords.map((ch) => ch.chord.replace(":maj", "").replace(":min", "m")).join(" "), x(b.start) + 2, 80);
  }
  for (const [field, col] of [["density", "#4e79a7"], ["dynamics", "#e15759"]]) {
    g.strokeStyle = col; g.beginPath();
    tl.bars.forEach((b, i) => { const y = H - 4 - b[field] * 60;
      i ? g.lineTo(x(b.start), y) : g.moveTo(x(b.start), y); g.lineTo(x(b.end), y); });
    g.stroke();
  }
  g.strokeStyle = "#000"; g.beginPath(); g.moveTo(x(t), 0); g.lineTo(x(t), H); g.stroke();
  roll(t, dur);
}

function roll(t, dur) {
  const c = $("roll"), g = c.getContext("2d"), W = c.width, H = c.height;
  g.clearRect(0, 0, W, H);
  const tracks = studio.job.tracks.filter((tr) => !tr.drums);
  const pitches = tracks.flatMap((tr) => tr.notes.map((n) => n[2]));
  if (!pitches.length) return;
  const lo = Math.min(...pitches) - 1, hi = Math.max(...pitches) + 1, h = H / (hi - lo);
  for (const tr of tracks) {
    g.fillStyle = colour(tr.name);
    for (const [s, d, p] of tr.notes) g.fillRect((s / dur) * W, H - (p - lo + 1) * h, Math.max(1, (d / dur) * W), h);
  }
  g.strokeStyle = "#000"; g.beginPath(); g.moveTo((t / dur) * W, 0); g.lineTo((t / dur) * W, H); g.stroke();
}

// ----- the editor ---------------------------------------------------------------------------------------------
function chordText(bar) { return bar.chords.map((c) => c.chord).join(" "); }

function editor(plan) {
  $("e-tempo").value = Math.round(plan.tempo_bpm * 1000) / 1000;  // shown rounded, kept exact unless edited
  $("e-key").value = plan.key;
  $("e-meter").value = plan.meter;
  $("e-engine").value = plan.engine;
  $("e-seed").value = plan.seed;
  $("instruments").innerHTML = ["melody", "harmony", "bass", "drums"].map((r) =>
    `<label>${r} <input type="number" min="0" max="127" data-role="${r}" style="width:4em" ` +
    `value="${r in plan.instrumentation ? plan.instrumentation[r] : ""}" placeholder="none"></label>`).join(" ");
  const sec = $("section");
  sec.innerHTML = plan.sections.map((s, i) =>
    `<option value="${i}">${s.label}: bars ${s.start_bar + 1}-${s.start_bar + s.n_bars}</option>`).join("");
  $("sections").tBodies[0].innerHTML = plan.sections.map((s, i) =>
    `<tr><td>${s.label}</td><td>${s.start_bar + 1}-${s.start_bar + s.n_bars}</td>` +
    `<td><input data-sec="${i}" data-f="theme" size="4" value="${s.theme ?? ""}"></td>` +
    `<td><input data-sec="${i}" data-f="valence" type="number" step="0.1" min="-1" max="1" style="width:5em" value="${s.valence ?? ""}"></td>` +
    `<td><input data-sec="${i}" data-f="arousal" type="number" step="0.1" min="-1" max="1" style="width:5em" value="${s.arousal ?? ""}"></td></tr>`).join("");
  const body = $("bars").tBodies[0];
  body.innerHTML = "";
  plan.bars.forEach((bar, i) => {
    const s = plan.sections.find((x) => x.start_bar <= i && i < x.start_bar + x.n_bars);
    const tr = document.createElement("tr");
    tr.dataset.bar = i;
    tr.innerHTML = `<td>${i + 1}</td><td>${s ? s.label : ""}</td>` +
      `<td><input class="chord" value="${chordText(bar)}"></td>` +
      `<td><input type="checkbox" class="melody" ${bar.melody ? "checked" : ""}></td><td class="err"></td>`;
    tr.querySelector(".chord").addEventListener("change", check);
    body.appendChild(tr);
  });
}

function spread(symbols, beats, old) {
  // the bar's chords: kept on their beats when as many as before, else shared out evenly over the bar
  if (old.length === symbols.length) return symbols.map((c, i) => ({ beat: old[i].beat, chord: c }));
  return symbols.map((c, i) => ({ beat: Math.round((i * beats / symbols.length) * 1000) / 1000, chord: c }));
}

function planFromEditor() {
  const plan = JSON.parse(JSON.stringify(studio.job.plan));
  const tempo = parseFloat($("e-tempo").value);
  if (Math.abs(tempo - Math.round(plan.tempo_bpm * 1000) / 1000) > 1e-9) plan.tempo_bpm = tempo;
  plan.key = $("e-key").value;
  plan.meter = $("e-meter").value;
  plan.engine = $("e-engine").value;
  plan.seed = parseInt($("e-seed").value || "0", 10);
  const inst = {};
  for (const el of document.querySelectorAll("#instruments input")) if (el.value !== "") inst[el.dataset.role] = parseInt(el.value, 10);
  plan.instrumentation = inst;
  for (const el of document.querySelectorAll("#sections input")) {
    const s = plan.sections[+el.dataset.sec], f = el.dataset.f;
    s[f] = el.value === "" ? null : f === "theme" ? el.value : parseFloat(el.value);
  }
  const beats = (b) => parseInt((plan.bars[b].meter || plan.meter).split("/")[0], 10);
  for (const tr of $("bars").tBodies[0].rows) {
    const b = +tr.dataset.bar;
    const symbols = tr.querySelector(".chord").value.trim().split(/\s+/).filter(Boolean);
    plan.bars[b].chords = spread(symbols.length ? symbols : ["N"], beats(b), plan.bars[b].chords);
    plan.bars[b].melody = tr.querySelector(".melody").checked;
  }
  return plan;
}

async function check() {
  for (const tr of $("bars").tBodies[0].rows) { tr.querySelector(".err").textContent = "";
    tr.querySelector(".chord").classList.remove("bad"); }
  $("edit-error").textContent = "";
  const r = await api("/api/check", { method: "POST", headers: { "content-type": "application/json" },
                                      body: JSON.stringify({ plan: planFromEditor() }) });
  if (r.ok) return true;
  const row = r.bar !== null ? $("bars").tBodies[0].rows[r.bar] : null;
  if (row) { row.querySelector(".err").textContent = r.error; row.querySelector(".chord").classList.add("bad"); }
  else $("edit-error").textContent = r.error;
  return false;
}

function downloads(job) {
  const base = `/api/jobs/${job.id}/files/`;
  $("files").innerHTML = job.files.map((f) => `<li><a href="${base}${f}" download>${f}</a></li>`).join("");
}

// ----- wiring -------------------------------------------------------------------------------------------------
$("compose").onclick = openJob;
$("play").onclick = play;
$("undo").onclick = () => step(-1);
$("redo").onclick = () => step(1);
$("recompose-all").onclick = async () => { if (await check()) recompose(null); };
$("recompose-section").onclick = async () => {
  if (!(await check())) return;
  const s = studio.job.plan.sections[+$("section").value];
  recompose(`${s.start_bar + 1}-${s.start_bar + s.n_bars}`);
};
$("timeline").onclick = (e) => {
  if (!studio.job) return;
  const r = e.target.getBoundingClientRect();
  seek(((e.clientX - r.left) / r.width) * studio.job.timeline.duration);
};
