// Admin console: sources with "Sync now", uploads, and live ingestion progress (polling the JSON API).
(() => {
  "use strict";
  const root = document.getElementById("admin");
  if (!root) return;
  const csrf = root.dataset.csrf;
  const headers = {"X-CSRF-Token": csrf, "Accept": "application/json"};
  const POLL_MS = 2000;
  let timer = null;

  const cell = (text, className) => {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  };

  async function api(path, options = {}) {
    const response = await fetch(path, {credentials: "same-origin", ...options, headers: {...headers, ...(options.headers || {})}});
    const body = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.detail || body.title || `HTTP ${response.status}`);
    return body;
  }

  function renderSources(sources) {
    const tbody = document.getElementById("sources-body");
    const select = document.getElementById("upload-source");
    tbody.replaceChildren();
    select.replaceChildren();
    for (const s of sources) {
      const tr = document.createElement("tr");
      const counts = Object.entries(s.by_status).map(([k, v]) => `${v} ${k}`).join(", ");
      tr.append(cell(s.name), cell(s.kind === "folder" ? `folder ${s.path}` : "upload"),
        cell(s.groups.join(", ")), cell(s.pii_policy), cell(`${s.documents}${counts ? " (" + counts + ")" : ""}`));
      const actions = document.createElement("td");
      if (s.kind === "folder") {
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = "Sync now";
        button.addEventListener("click", () => syncSource(s, button));
        actions.append(button);
      } else {
        const option = document.createElement("option");
        option.value = s.id;
        option.textContent = s.name;
        select.append(option);
      }
      tr.append(actions);
      tbody.append(tr);
    }
    if (!sources.length) tbody.append(Object.assign(document.createElement("tr"), {innerHTML: '<td colspan="6">No sources yet.</td>'}));
  }

  async function syncSource(source, button) {
    const out = document.getElementById("sync-result");
    button.disabled = true;
    try {
      const r = await api(`/api/v1/sources/${source.id}/sync`, {method: "POST"});
      const rejected = r.rejected.map((x) => `${x.file}: ${x.reason}`).join("; ");
      out.textContent = `${source.name}: ${r.added} added, ${r.changed} changed, ${r.deleted} deleted, ` +
        `${r.unchanged} unchanged${rejected ? ". Rejected: " + rejected : ""}`;
      await refresh();
    } catch (error) {
      out.textContent = `${source.name}: ${error.message}`;
    } finally {
      button.disabled = false;
    }
  }

  function renderDocuments(documents) {
    const tbody = document.getElementById("documents-body");
    tbody.replaceChildren();
    for (const d of documents) {
      const tr = document.createElement("tr");
      tr.dataset.id = d.id;
      const status = cell(d.status, `status status-${d.status}`);
      if (d.error) status.append(Object.assign(document.createElement("div"), {className: "error", textContent: d.error}));
      const progress = document.createElement("td");
      progress.className = "progress";
      const bar = document.createElement("progress");
      bar.max = Math.max(d.progress.chunks_total, 1);
      bar.value = d.progress.chunks_done;
      progress.append(bar, ` ${d.progress.chunks_done}/${d.progress.chunks_total}`);
      tr.append(cell(d.title), cell(`${d.source_name} / ${d.source}`), cell(d.groups.join(", ")), status, progress);
      tbody.append(tr);
    }
    if (!documents.length) tbody.append(Object.assign(document.createElement("tr"), {innerHTML: '<td colspan="5">No documents yet.</td>'}));
    return documents.some((d) => d.status === "queued" || d.status === "processing");
  }

  async function refresh() {
    clearTimeout(timer);
    try {
      const [{sources}, {documents}] = await Promise.all([api("/api/v1/sources"), api("/api/v1/documents")]);
      renderSources(sources);
      // Keep polling while anything is in flight; a slower heartbeat otherwise.
      timer = setTimeout(refresh, renderDocuments(documents) ? POLL_MS : POLL_MS * 5);
    } catch (error) {
      timer = setTimeout(refresh, POLL_MS * 5);
    }
  }

  document.getElementById("upload-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    const out = document.getElementById("upload-result");
    const data = new FormData();
    data.append("file", form.elements.file.files[0]);
    out.textContent = "Uploading…";
    try {
      const r = await api(`/api/v1/sources/${form.elements.source.value}/documents`, {method: "POST", body: data});
      out.textContent = r.status === "queued" ? "Queued for ingestion." : `Not re-indexed: ${r.status}.`;
      form.reset();
      await refresh();
    } catch (error) {
      out.textContent = error.message;
    }
  });

  refresh();
})();
