// Task pages: follow background jobs by polling their status endpoint; plain ES module, no build step.
const configNode = document.getElementById("bg-task-config");
const config = configNode ? JSON.parse(configNode.textContent) : null;

const terminal = new Set(config ? config.terminal : []);
const active = new Set(config ? config.active : []);
const listUrl = config ? config.listUrl.replace(/\/$/, "") : "";
const statusUrl = (id) => `${listUrl}/${id}`;
const csrfToken = () => document.querySelector("#bg-task-csrf [name=csrfmiddlewaretoken]")?.value || "";

// Server time minus browser time, so elapsed times stay right on a browser with a wrong clock.
let clockOffset = 0;

class RequestError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

// Conditional polls: per poller, the last URL asked, its ETag and its body. A 304 answer reuses the body.
const remembered = new Map();

async function request(url, { method = "GET", accept = "application/json", poller = null } = {}) {
  const headers = { Accept: accept };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  const last = poller ? remembered.get(poller) : null;
  if (last && last.url === url) headers["If-None-Match"] = last.etag;
  const response = await fetch(url, { method, headers, credentials: "same-origin", cache: "no-store" });
  const date = Date.parse(response.headers.get("Date") || "");
  if (!Number.isNaN(date)) {
    const skew = date - Date.now();
    clockOffset = Math.abs(skew) > 2000 ? skew : 0;
  }
  if (response.status === 304 && last && last.url === url) return last.body;
  if (!response.ok) {
    let detail = `The server answered ${response.status}.`;
    try {
      detail = (await response.json()).detail || detail;
    } catch {
      // Not JSON (a proxy error page): keep the generic text.
    }
    throw new RequestError(detail, response.status);
  }
  const body = accept === "application/json" ? await response.json() : await response.text();
  const etag = response.headers.get("ETag");
  if (poller && etag) remembered.set(poller, { url, etag, body });
  else if (poller) remembered.delete(poller);
  return body;
}

function backoff(failures) {
  return Math.min(config.pollInterval * 2 ** failures, config.maxBackoff);
}

// --- one poller per job, shared by everything on the page that shows that job -------------------

class JobWatcher {
  constructor(id) {
    this.id = id;
    this.listeners = new Set();
    this.failures = 0;
    this.timer = null;
    this.stopped = false;
    this.last = null;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    if (this.last) listener(this.last);
  }

  emit(event) {
    if (event.kind === "status") this.last = event;
    for (const listener of this.listeners) listener(event);
  }

  async poll() {
    this.timer = null;
    if (this.stopped) return;
    try {
      const body = await request(statusUrl(this.id), { poller: `job-${this.id}` });
      this.failures = 0;
      this.emit({ kind: "status", body });
      if (terminal.has(body.status)) {
        this.stopped = true;
        return;
      }
      this.schedule(config.pollInterval);
    } catch (error) {
      if (error.status === 404) {
        this.stopped = true;
        this.emit({ kind: "gone" });
        return;
      }
      if (error.status === 401 || error.status === 403) {
        this.stopped = true;
        this.emit({ kind: "denied" });
        return;
      }
      // Network down, server restarting, a 5xx: wait longer each time, never stop trying.
      this.failures += 1;
      const delay = backoff(this.failures);
      this.emit({ kind: "retrying", delay, failures: this.failures });
      this.schedule(delay);
    }
  }

  schedule(delay) {
    if (!this.stopped) this.timer = setTimeout(() => this.poll(), delay);
  }

  pollNow() {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.poll();
  }
}

const watchers = new Map();

function watch(id) {
  let watcher = watchers.get(id);
  if (!watcher) {
    watcher = new JobWatcher(id);
    watchers.set(id, watcher);
    watcher.poll();
  }
  return watcher;
}

// --- time ----------------------------------------------------------------------------------------

function formatDuration(ms) {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  const pad = (n) => String(n).padStart(2, "0");
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${pad(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h ${pad(Math.floor((seconds % 3600) / 60))}m`;
}

function elapsedText(startedAt, completedAt) {
  if (!startedAt) return "";
  const end = completedAt ? Date.parse(completedAt) : Date.now() + clockOffset;
  return formatDuration(end - Date.parse(startedAt));
}

// Elements showing a duration carry data-started-at / data-completed-at; one ticker updates them all.
function tick() {
  for (const node of document.querySelectorAll("[data-bg-elapsed]")) {
    const text = elapsedText(node.dataset.startedAt, node.dataset.completedAt);
    if (text) node.textContent = text;
  }
}

// --- shared bits of rendering --------------------------------------------------------------------

function statusInfo(status) {
  return config.statuses[status] || { label: status, tone: "waiting" };
}

function setBadge(badge, status) {
  const info = statusInfo(status);
  badge.className = `bg-status bg-tone-${info.tone}`;
  badge.dataset.status = status;
  badge.textContent = info.label;
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value);
  }
  node.append(...children);
  return node;
}

// --- the task page: running indicator, status banner, results summary ----------------------------

const panel = document.getElementById("bg-task-panel");
const cards = new Map();

function updatePanelTitle() {
  const running = [...cards.values()].filter((card) => !card.done).length;
  const title = panel.querySelector(".bg-panel-title");
  if (running) title.textContent = `${running} job${running === 1 ? "" : "s"} in progress`;
  else title.textContent = cards.size === 1 ? "Finished job" : "Finished jobs";
  panel.querySelector(".bg-panel-hint").hidden = running === 0;
  panel.hidden = cards.size === 0;
}

function detailUrl(template, id) {
  return template ? template.replace("__id__", String(id)) : "";
}

function createCard(id) {
  const badge = el("span", { class: "bg-status bg-tone-waiting", text: "…" });
  const elapsed = el("span", { class: "bg-elapsed", "data-bg-elapsed": "" });
  const cancel = el("button", { type: "button", class: "button bg-cancel", text: "Cancel" });
  const dismiss = el("button", { type: "button", class: "bg-dismiss", "aria-label": "Dismiss", title: "Dismiss", text: "×" });
  dismiss.hidden = true;
  const fill = el("div", { class: "bg-bar-fill" });
  const bar = el("div", { class: "bg-bar", role: "progressbar", "aria-valuemin": "0", "aria-valuemax": "100" }, fill);
  const percent = el("span", { class: "bg-percent-text", text: "0%" });
  const message = el("span", { class: "bg-message" });
  const connection = el("p", { class: "bg-connection" });
  connection.hidden = true;
  const summary = el("div", { class: "bg-card-summary" });
  const title = el("a", { class: "bg-card-title", href: detailUrl(config.changeUrl, id), text: `${config.verboseName} #${id}` });
  const node = el(
    "article",
    { class: "bg-card bg-tone-waiting", "data-job-id": String(id) },
    el("header", { class: "bg-card-head" }, el("span", { class: "bg-spinner", "aria-hidden": "true" }), title, badge, elapsed, cancel, dismiss),
    bar,
    el("p", { class: "bg-card-progress" }, percent, " ", message),
    connection,
    summary,
  );
  const card = { id, node, badge, elapsed, cancel, dismiss, fill, bar, percent, message, connection, summary, done: false };
  cancel.addEventListener("click", () => cancelJob(card));
  dismiss.addEventListener("click", () => {
    node.remove();
    cards.delete(id);
    updatePanelTitle();
  });
  return card;
}

function follow(id) {
  if (!panel || cards.has(id)) return;
  const card = createCard(id);
  cards.set(id, card);
  panel.querySelector(".bg-cards").prepend(card.node);
  updatePanelTitle();
  watch(id).subscribe((event) => updateCard(card, event));
}

function updateCard(card, event) {
  if (event.kind === "retrying") {
    card.node.classList.add("bg-offline");
    card.connection.hidden = false;
    card.connection.textContent = `Cannot reach the server; trying again in ${Math.round(event.delay / 1000)} s.`;
    return;
  }
  if (event.kind === "gone" || event.kind === "denied") {
    card.node.classList.add("bg-offline");
    card.connection.hidden = false;
    card.connection.textContent =
      event.kind === "gone" ? "This job no longer exists." : "Your session has ended: log in again to follow this job.";
    finishCard(card, null);
    return;
  }
  const body = event.body;
  card.node.classList.remove("bg-offline");
  card.connection.hidden = true;
  const info = statusInfo(body.status);
  card.node.className = `bg-card bg-tone-${info.tone}`;
  setBadge(card.badge, body.status);
  card.fill.style.width = `${body.progress_percent}%`;
  card.bar.setAttribute("aria-valuenow", String(body.progress_percent));
  card.percent.textContent = `${body.progress_percent}%`;
  card.message.textContent = body.progress_message || "";
  card.elapsed.dataset.startedAt = body.started_at || "";
  card.elapsed.dataset.completedAt = body.completed_at || "";
  card.elapsed.textContent = elapsedText(body.started_at, body.completed_at);
  if (terminal.has(body.status)) finishCard(card, body);
}

function finishCard(card, body) {
  if (card.done) return;
  card.done = true;
  card.node.classList.add("bg-done");
  card.cancel.hidden = true;
  card.dismiss.hidden = false;
  updatePanelTitle();
  if (body) loadSummary(card, 0);
}

async function loadSummary(card, failures) {
  const url = detailUrl(config.summaryUrl, card.id);
  if (!url) return;
  try {
    // Our own admin view renders the type's summary template from the job's details.
    card.summary.innerHTML = await request(url, { accept: "text/html" });
  } catch (error) {
    card.summary.textContent = "Could not load the results; trying again…";
    setTimeout(() => loadSummary(card, failures + 1), backoff(failures + 1));
  }
}

async function cancelJob(card) {
  card.cancel.disabled = true;
  card.cancel.textContent = "Cancelling…";
  try {
    await request(`${statusUrl(card.id)}/cancel`, { method: "POST" });
  } catch (error) {
    card.cancel.disabled = false;
    card.cancel.textContent = "Cancel";
    card.connection.hidden = false;
    card.connection.textContent = error.message;
  }
  watch(card.id).pollNow();
}

// On load (and now and then) find this type's unfinished jobs, started here or anywhere else.
async function discover(failures = 0) {
  try {
    for (const status of config.active) {
      const params = new URLSearchParams({ task_type: config.taskType, status });
      for (const job of await request(`${listUrl}?${params}`, { poller: `discover-${status}` })) follow(job.id);
    }
    setTimeout(() => discover(0), config.pollInterval * 5);
  } catch {
    setTimeout(() => discover(failures + 1), backoff(failures + 1));
  }
}

function followHash() {
  const match = /^#job-(\d+)$/.exec(window.location.hash);
  if (match) follow(Number(match[1]));
}

// --- list rows (a type's list and the unified page): one request per tick for every row ------------

// Active rows, by job id; one poll asks for all of them (and, on the unified page, for new jobs).
const rowsById = new Map();
const shownIds = new Set();
const newJobs = config ? config.newJobs || null : null;
const unseen = new Set();
let unseenOverflow = false;
let rowFailures = 0;

function bindRow(row, badge) {
  const id = Number(badge.dataset.jobId);
  shownIds.add(id);
  const duration = row.querySelector("td.field-duration_display");
  if (duration && badge.dataset.startedAt) {
    duration.setAttribute("data-bg-elapsed", "");
    duration.dataset.startedAt = badge.dataset.startedAt;
  }
  if (active.has(badge.dataset.status)) rowsById.set(id, { row, badge });
}

function followRows() {
  for (const badge of document.querySelectorAll("#result_list .bg-status[data-job-id]")) bindRow(badge.closest("tr"), badge);
  if (rowsById.size || newJobs) pollRows();
}

function rowsQuery() {
  const params = new URLSearchParams();
  if (rowsById.size) params.set("ids", [...rowsById.keys()].join(","));
  if (newJobs) {
    params.set("after", String(newJobs.after));
    params.set("limit", String(newJobs.limit));
    if (newJobs.taskType) params.set("task_type", newJobs.taskType);
    if (newJobs.status) params.set("status", newJobs.status);
  }
  return params;
}

async function pollRows() {
  if (!rowsById.size && !newJobs) return; // every row finished: nothing left to ask
  if (document.visibilityState === "hidden") {
    setTimeout(pollRows, config.pollInterval);
    return;
  }
  const asked = new Set(rowsById.keys());
  let jobs;
  try {
    jobs = await request(`${listUrl}?${rowsQuery()}`, { poller: "rows" });
  } catch (error) {
    for (const { row } of rowsById.values()) row.classList.add("bg-offline");
    if (error.status === 401 || error.status === 403) return; // the session ended: stop asking
    rowFailures += 1;
    setTimeout(pollRows, backoff(rowFailures));
    return;
  }
  rowFailures = 0;
  const fresh = [];
  for (const body of jobs) {
    const shown = rowsById.get(body.id);
    if (shown) {
      updateRow(shown.row, shown.badge, body);
      if (terminal.has(body.status)) rowsById.delete(body.id);
    } else if (newJobs && !shownIds.has(body.id) && body.id > newJobs.after) {
      fresh.push(body);
    }
  }
  // Asked for and not answered: the job is gone; stop asking.
  for (const id of asked) if (!jobs.some((body) => body.id === id)) rowsById.delete(id);
  if (fresh.length) showNewJobs(fresh);
  setTimeout(pollRows, config.pollInterval);
}

function updateRow(row, badge, body) {
  row.classList.remove("bg-offline");
  setBadge(badge, body.status);
  const progress = row.querySelector("progress.bg-progress");
  if (progress) progress.value = body.progress_percent;
  const percent = row.querySelector(".bg-percent");
  if (percent) percent.textContent = `${body.progress_percent}%`;
  const message = row.querySelector("td.field-progress_message");
  if (message) message.textContent = body.progress_message || "";
  const duration = row.querySelector("td.field-duration_display");
  if (duration && body.started_at) {
    duration.setAttribute("data-bg-elapsed", "");
    duration.dataset.startedAt = body.started_at;
    duration.dataset.completedAt = body.completed_at || "";
    duration.textContent = elapsedText(body.started_at, body.completed_at);
  }
}

// --- the unified page: jobs started after it loaded ----------------------------------------------

function showNewJobs(fresh) {
  // The answer is newest first; the next poll asks only for jobs newer than the newest seen.
  newJobs.after = Math.max(newJobs.after, ...fresh.map((body) => body.id));
  const tbody = document.querySelector("#result_list tbody");
  const sample = tbody && tbody.querySelector("tr");
  if (newJobs.insert && sample) {
    for (const body of [...fresh].reverse()) insertRow(tbody, sample, body);
    // The first page keeps its length: the oldest rows move on to the next page.
    const rows = tbody.querySelectorAll("tr");
    for (let index = newJobs.pageSize; index < rows.length; index += 1) {
      const badge = rows[index].querySelector(".bg-status[data-job-id]");
      if (badge) rowsById.delete(Number(badge.dataset.jobId));
      rows[index].remove();
    }
    return;
  }
  for (const body of fresh) unseen.add(body.id);
  if (fresh.length >= newJobs.limit) unseenOverflow = true;
  const note = document.getElementById("bg-new-jobs");
  if (!note) return;
  const count = `${unseen.size}${unseenOverflow ? "+" : ""}`;
  note.querySelector(".bg-new-jobs-count").textContent = `${count} new job${unseen.size === 1 && !unseenOverflow ? "" : "s"}`;
  note.hidden = false;
}

function formatDate(iso) {
  const options = { dateStyle: "medium", timeStyle: "short" };
  try {
    return new Date(iso).toLocaleString("en-US", { ...options, timeZone: newJobs.timeZone });
  } catch {
    return new Date(iso).toLocaleString("en-US", options); // a zone this browser does not know
  }
}

// A new row copies the shape of a row the server drew (its columns and classes), then fills it.
function insertRow(tbody, sample, body) {
  const row = sample.cloneNode(true);
  row.classList.add("bg-new-row");
  row.classList.remove("selected");
  const badge = el("span", { class: "bg-status", "data-job-id": String(body.id), "data-status": body.status });
  setBadge(badge, body.status);
  const changeUrl = detailUrl((newJobs.changeUrls || {})[body.task_type], body.id);
  const fill = {
    "action-checkbox": (cell) => {
      const box = cell.querySelector("input");
      if (box) {
        box.value = String(body.id);
        box.checked = false;
      }
    },
    "field-job_link": (cell) => cell.replaceChildren(changeUrl ? el("a", { href: changeUrl, text: `#${body.id}` }) : `#${body.id}`),
    "field-task_type_display": (cell) => cell.replaceChildren(newJobs.taskTypeLabels[body.task_type] || body.task_type),
    "field-status_display": (cell) => cell.replaceChildren(badge),
    "field-progress_display": (cell) =>
      cell.replaceChildren(
        el("progress", { class: "bg-progress", max: "100", value: String(body.progress_percent) }),
        " ",
        el("span", { class: "bg-percent", text: `${body.progress_percent}%` }),
      ),
    "field-progress_message": (cell) => cell.replaceChildren(body.progress_message || ""),
    "field-triggered_by": (cell) => cell.replaceChildren(body.triggered_by || ""),
    "field-created_at": (cell) => cell.replaceChildren(formatDate(body.created_at)),
    "field-duration_display": (cell) => {
      cell.replaceChildren(elapsedText(body.started_at, body.completed_at) || "—");
      cell.removeAttribute("data-bg-elapsed");
      delete cell.dataset.startedAt;
      delete cell.dataset.completedAt;
    },
  };
  for (const cell of row.children) {
    const key = [...cell.classList].find((name) => name in fill);
    if (key) fill[key](cell);
    else if (![...cell.classList].includes("action-checkbox")) cell.replaceChildren("—"); // e.g. Flower: not in the status body
  }
  tbody.prepend(row);
  bindRow(row, badge);
  updateRow(row, badge, body);
}

// --- the unified page's counts -------------------------------------------------------------------

async function refreshCounts(failures = 0) {
  if (document.visibilityState === "hidden") {
    setTimeout(() => refreshCounts(failures), config.pollInterval);
    return;
  }
  try {
    const { cap, counts } = await request(config.countsUrl);
    for (const cell of document.querySelectorAll("#bg-counts .bg-count")) {
      const count = (counts[cell.dataset.taskType] || {})[cell.dataset.status] || 0;
      cell.textContent = count > cap ? `${cap.toLocaleString("en-US")}+` : count.toLocaleString("en-US");
      cell.className = count ? `bg-count bg-tone-${statusInfo(cell.dataset.status).tone}` : "bg-count";
    }
    setTimeout(() => refreshCounts(0), config.pollInterval);
  } catch {
    setTimeout(() => refreshCounts(failures + 1), backoff(failures + 1));
  }
}

if (config) {
  followRows();
  for (const id of config.follow) follow(id);
  if (config.discover) {
    followHash();
    window.addEventListener("hashchange", followHash);
    discover();
  }
  if (document.getElementById("bg-counts")) refreshCounts();
  setInterval(tick, 1000);
}
