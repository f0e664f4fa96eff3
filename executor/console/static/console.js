// The operator console: reads /jobs, /alerts and /status every few seconds and shows them; a job's detail
// from /jobs/<id>; replays through POST /jobs/<id>/replay with the session's CSRF token. Everything shown is
// set as text, never as markup.
"use strict";

(() => {
  const meta = (name) => document.querySelector(`meta[name="${name}"]`).content;
  const CSRF = meta("csrf-token");
  const POLL_MS = Number(meta("poll-ms"));
  const STATUS_POLL_MS = Number(meta("status-poll-ms"));
  const PAGE = 50;
  const $ = (id) => document.getElementById(id);
  const state = { filters: {}, jobs: [null], signals: [null], outcome: "", open: null, replay: null };

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  async function call(url, options) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" },
                                        ...options });
    if (response.status === 401) { window.location.reload(); throw new Error("signed out"); }
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `${response.status} ${response.statusText}`);
    return body;
  }

  const dash = "—";
  const ms = (value) => (value === null || value === undefined) ? dash
    : `${value.toFixed(Math.abs(value) < 10 ? 1 : 0)} ms`;
  const utc = (iso) => iso ? iso.replace("T", " ").replace(/(\.\d{3})\d*/, "$1").replace(/(\+00:00|Z)$/, "") : dash;
  const clock = (iso) => iso ? utc(iso).slice(11, 23) : dash;
  const badge = (status) => el("span", { class: `badge ${status}` }, status);
  const query = (params) => new URLSearchParams(Object.entries(params).filter(([, v]) => v)).toString();

  function cell(label, ...content) { return el("td", { "data-label": label }, el("div", {}, ...content)); }

  // ---- jobs ----
  async function loadJobs() {
    const cursor = state.jobs[state.jobs.length - 1];
    const page = await call(`/jobs?${query({ ...state.filters, limit: PAGE, cursor })}`);
    const rows = page.jobs.map((job) => el("tr", { class: `job ${job.status}`, "data-job-id": job.job_id },
      cell("Received", el("button", { type: "button", class: "link", onclick: () => openJob(job.job_id),
                                      title: job.job_id }, utc(job.received_at))),
      cell("Status", badge(job.status)), cell("Venue", job.venue || dash), cell("Account", job.account),
      cell("Symbol", job.symbol || dash), cell("Action", job.action || dash),
      cell("Queued", ms(job.timings.queued_ms)), cell("Started", ms(job.timings.started_ms)),
      cell("First venue request", ms(job.timings.first_request_ms)),
      cell("Venue answer", ms(job.timings.answer_ms)), cell("Outcome", lastWord(job))));
    rows.forEach((row) => row.querySelectorAll("td").forEach((td, i) => { if (i >= 6 && i <= 9) td.classList.add("num"); }));
    $("jobs-body").replaceChildren(...rows);
    $("jobs-empty").hidden = rows.length > 0;
    pager("jobs", page.next_cursor);
  }

  function lastWord(job) {
    if (job.error) return [job.error.type, ": ", job.error.message].join("");
    if (job.deferred) return `${job.deferred.reason} until ${utc(job.deferred.until) || "its turn"}`;
    if (job.outcome) return job.outcome + (job.order_id ? `, order ${job.order_id}` : "");
    return dash;
  }

  // ---- signal log ----
  async function loadSignals() {
    const cursor = state.signals[state.signals.length - 1];
    const params = { outcome: state.outcome, search: state.filters.search, limit: PAGE, cursor };
    const page = await call(`/alerts?${query(params)}`);
    const rows = page.alerts.map((entry) => el("tr", { class: `signal ${entry.outcome}`, "data-signal-id": entry.id },
      cell("Time", clock(entry.at)), cell("From", entry.address || dash), cell("HTTP", String(entry.status)),
      cell("Outcome", badge(entry.outcome)), cell("Reason", reason(entry)),
      cell("Jobs", entry.jobs.map((job) => el("button", { type: "button", class: "link",
        onclick: () => openJob(job.job_id) }, job.job_id))),
      cell("Alert", alertSummary(entry))));
    $("signals-body").replaceChildren(...rows);
    $("signals-empty").hidden = rows.length > 0;
    pager("signals", page.next_cursor);
  }

  function reason(entry) {
    if (!entry.reason) return dash;
    const fields = Object.entries(entry.fields || {}).map(([name, messages]) =>
      el("li", {}, el("code", {}, name), ": ", messages.join(" ")));
    return [el("span", { class: "reason" }, entry.reason), fields.length ? el("ul", { class: "fields" }, fields) : null];
  }

  function alertSummary(entry) {
    if (entry.alert) {
      const a = entry.alert;
      const what = [a.action || (a.market_position ? `to ${a.market_position}` : null), a.venue, a.symbol]
        .filter((part) => typeof part === "string").join(" ") || "fields";
      return el("details", {}, el("summary", {}, what), el("pre", {}, JSON.stringify(a, null, 2)));
    }
    if (entry.excerpt) return el("details", {}, el("summary", {}, "body (not JSON)"), el("pre", {}, entry.excerpt));
    return dash;
  }

  function pager(list, next) {
    $(`${list}-older`).disabled = !next;
    $(`${list}-older`).dataset.next = next || "";
    $(`${list}-newer`).disabled = state[list].length <= 1;
  }

  // ---- health ----
  async function loadStatus() {
    const status = await call("/status");
    $("h-workers").textContent = status.workers;
    $("h-workers").classList.toggle("bad", status.workers === 0);
    $("h-queued").textContent = status.queue.queued;
    $("h-oldest").textContent = status.queue.waiting ? `${status.queue.oldest_waiting_seconds.toFixed(1)} s` : "none";
    const deferred = Object.values(status.deferred).reduce((sum, n) => sum + n, 0);
    $("h-deferred").textContent = deferred;
    const reasons = Object.entries(status.deferred).map(([why, n]) => el("li", {}, `${why}: ${n}`));
    $("h-reasons").replaceChildren(...(reasons.length ? reasons : [el("li", { class: "muted" }, "none")]));
    const funding = status.funding.map((w) => el("li", { class: w.active ? "bad" : "" },
      `${w.label}: ${w.active ? "now, until" : "from"} ${utc(w.active ? w.end : w.start)}`,
      el("span", { class: "muted" }, ` (funding at ${clock(w.funding_at)})`)));
    $("h-funding").replaceChildren(...(funding.length ? funding : [el("li", { class: "muted" }, "no schedule")]));
    const limits = status.rate_limits.map((key) => el("li", {}, el("strong", {}, key.venue), " ",
      el("code", { title: "a digest of the credential" }, key.key.slice(0, 8)), ": ",
      key.windows.map((w) => `${w.name} ${w.used}/${w.limit ?? "?"}`).join(", "),
      key.penalty_seconds > 0 ? el("span", { class: "bad" }, ` blocked ${key.penalty_seconds.toFixed(1)} s`) : null));
    $("h-limits").replaceChildren(...(limits.length ? limits : [el("li", { class: "muted" }, "no recent request")]));
  }

  // ---- one job ----
  async function openJob(jobId) {
    state.open = jobId;
    $("action-result").hidden = true;
    await loadDetail();
    $("detail").hidden = false;
    $("detail").scrollIntoView({ behavior: "smooth", block: "start" });
  }

  async function loadDetail() {
    if (!state.open) return;
    const job = await call(`/jobs/${encodeURIComponent(state.open)}`);
    $("detail-id").textContent = job.job_id;
    $("detail-status").replaceWith(Object.assign(badge(job.status), { id: "detail-status" }));
    state.replay = job.replay;
    $("replay").hidden = !job.replay.action;
    $("replay").textContent = job.replay.action || "Replay";
    $("detail-body").replaceChildren(...detailParts(job));
  }

  function pairs(object) {
    return el("dl", { class: "pairs" }, Object.entries(object || {}).flatMap(([key, value]) =>
      [el("dt", {}, key), el("dd", {}, typeof value === "object" && value !== null ? JSON.stringify(value) : String(value))]));
  }

  function detailParts(job) {
    const stages = job.stages || {};
    const parts = [
      el("h3", {}, "Alert"), pairs(job.alert),
      el("h3", {}, "Times (UTC)"), pairs({ received: utc(job.received_at), queued: utc(job.enqueued_at),
        started: utc(job.started_at), ended: utc(job.ended_at) }),
      el("h3", {}, "Stages of the latest run"), pairs({ queued: ms(stages.queued_ms), started: ms(stages.started_ms),
        "first venue request": ms(stages.first_request_ms), "venue answer": ms(stages.answer_ms) }),
    ];
    if (job.deferred) parts.push(el("h3", {}, "Deferred"), pairs(job.deferred));
    if (job.error) parts.push(el("h3", {}, "Error"), ...errorView(job.error));
    if (job.result) parts.push(el("h3", {}, "Venue's answer"), pairs(job.result));
    parts.push(el("h3", {}, `Attempts (${job.attempts.length})`),
      job.attempts.length ? el("ol", { class: "attempts" }, job.attempts.map(attemptView)) : el("p", { class: "muted" }, "none yet"));
    if (job.events.length) parts.push(el("h3", {}, "Events"), el("ul", {}, job.events.map((e) => el("li", {}, `${utc(e.at)} ${e.message}`))));
    if (job.replays.length) parts.push(el("h3", {}, "Replays"), el("ul", {}, job.replays.map((r) =>
      el("li", {}, `${utc(r.at)} by ${r.from}${r.force ? " (forced)" : ""}`))));
    return parts;
  }

  function errorView(error) {
    const lines = [el("p", { class: "error" }, `${error.type}: ${error.message}`)];
    if (error.code !== undefined && error.code !== null) lines.push(el("p", {}, `Venue code ${error.code}: ${error.venue_message}`));
    return lines;
  }

  function attemptView(attempt) {
    const notes = attempt.notes || {};
    const saw = notes.position_before ?? notes.position_read;
    const stamps = attempt.timings || {};
    return el("li", {},
      el("p", {}, el("strong", {}, `#${attempt.number}`), attempt.run ? ` (replay ${attempt.run})` : "", " ",
        utc(attempt.started_at), " → ", utc(attempt.ended_at), " ", badge(attempt.outcome || "running")),
      saw !== undefined ? el("p", {}, "Saw on the venue: ", el("code", {}, JSON.stringify(saw))) : null,
      notes.reconciliation ? el("p", {}, "Reconciliation: ", el("strong", {}, notes.reconciliation)) : null,
      attempt.deferral ? el("p", {}, `Deferred (${attempt.deferral.reason}) until ${utc(attempt.deferral.until)}: ${attempt.deferral.message}`) : null,
      attempt.error ? errorView(attempt.error) : null,
      attempt.result ? el("p", {}, "Answer: ", el("code", {}, JSON.stringify(attempt.result))) : null,
      el("p", { class: "muted" }, `first venue request ${utc(stamps.first_request_at)}, answer ${utc(stamps.answered_at)}`),
      Object.keys(notes).length ? el("details", {}, el("summary", {}, "notes"), el("pre", {}, JSON.stringify(notes, null, 2))) : null);
  }

  function askReplay() {
    const offer = state.replay;
    if (!offer || !offer.action) return;
    $("confirm-title").textContent = `${offer.action} job ${state.open}?`;
    $("confirm-text").textContent = `The venue answered before: ${offer.before}.` +
      (offer.force ? " A forced replay does it again on the venue." : "");
    $("confirm-go").textContent = offer.action;
    $("confirm").returnValue = "";
    $("confirm").showModal();
  }

  async function replay() {
    const jobId = state.open;
    const force = Boolean(state.replay && state.replay.force);
    const result = $("action-result");
    try {
      const job = await call(`/jobs/${encodeURIComponent(jobId)}/replay`, { method: "POST", body: JSON.stringify({ force }),
        headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRF-Token": CSRF } });
      result.textContent = `Replayed ${jobId}: now ${job.status}.`;
      result.className = "ok";
    } catch (error) {
      result.textContent = `Not replayed: ${error.message}`;
      result.className = "error";
    }
    result.hidden = false;
    refresh();
  }

  // ---- wiring ----
  let updating = false;
  async function refresh() {
    if (updating) return;
    updating = true;
    try {
      await Promise.all([loadJobs(), loadSignals(), loadDetail()]);
      $("updated").textContent = `updated ${new Date().toISOString().slice(11, 19)} UTC`;
      $("updated").classList.remove("bad");
    } catch (error) {
      $("updated").textContent = `not updated: ${error.message}`;
      $("updated").classList.add("bad");
    } finally {
      updating = false;
    }
  }

  async function refreshStatus() {
    try { await loadStatus(); } catch (error) { $("h-workers").textContent = "?"; }
  }

  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    state.filters = Object.fromEntries([...form.entries()].map(([k, v]) => [k, String(v).trim()]).filter(([, v]) => v));
    state.jobs = [null]; state.signals = [null];
    refresh();
  });
  $("filter-form").addEventListener("reset", () => { state.filters = {}; state.jobs = [null]; state.signals = [null]; setTimeout(refresh); });
  $("outcome-filter").addEventListener("change", (event) => { state.outcome = event.target.value; state.signals = [null]; refresh(); });
  for (const list of ["jobs", "signals"]) {
    $(`${list}-older`).addEventListener("click", (event) => { state[list].push(event.target.dataset.next); refresh(); });
    $(`${list}-newer`).addEventListener("click", () => { state[list].pop(); refresh(); });
  }
  $("close-detail").addEventListener("click", () => { state.open = null; $("detail").hidden = true; });
  $("replay").addEventListener("click", askReplay);
  $("confirm").addEventListener("close", () => { if ($("confirm").returnValue === "go") replay(); });

  refresh();
  refreshStatus();
  setInterval(refresh, POLL_MS);
  setInterval(refreshStatus, STATUS_POLL_MS);
})();
