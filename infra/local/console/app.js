// The local console. It calls the API exactly as a portal would: a token
// from the local identity provider, then Authorization: Bearer. Everything
// it renders goes through textContent: no data ever becomes markup.
"use strict";

const $ = (id) => document.getElementById(id);

const state = { who: null, token: null, purgeAt: null, export: null };

// The demo practice's people (internal/localstack/seed.go), as claims per
// the README's claims contract.
function claimsFor(who, practice) {
  switch (who) {
    case "owner":
      return { sub: "pr-owner", "custom:role": "practitioner", "custom:practice_id": practice, "custom:team_role": "owner" };
    case "member":
      return { sub: "pr-member", "custom:role": "practitioner", "custom:practice_id": practice, "custom:team_role": "member" };
    default:
      // A portal user's sub is not their client id: the demo's is <id>-sub,
      // which their profile's portalUserId names.
      return { sub: who + "-sub", "custom:role": "client", "custom:practice_id": practice, "custom:client_id": who };
  }
}

// api calls the local server and returns {status, body} (body parsed JSON
// or null); it throws only when the server cannot be reached.
async function api(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers["Authorization"] = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let parsed = null;
  try { parsed = await resp.json(); } catch (_) { /* not JSON */ }
  return { status: resp.status, body: parsed };
}

// errorText renders an API error ({"error":{code,message}} or the
// gateway's {"message"}) for people.
function errorText(r) {
  const e = r.body && r.body.error;
  if (e) return r.status + " " + e.code + ": " + e.message;
  if (r.body && r.body.message) return r.status + ": " + r.body.message;
  return "HTTP " + r.status;
}

function show(el, on) { el.hidden = !on; }

function setError(el, text) {
  el.textContent = text || "";
  show(el, Boolean(text));
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

// ---- sign in

async function signIn(who) {
  const practice = $("practice").value.trim() || "demo-practice";
  const claims = claimsFor(who, practice);
  const r = await api("POST", "/_local/token", { body: claims });
  if (r.status !== 200 || !r.body || !r.body.token) {
    $("whoami").textContent = "Sign-in failed: " + errorText(r);
    return;
  }
  state.who = who;
  state.token = r.body.token;
  state.export = null;
  show($("certificate-card"), false);
  $("export-status").textContent = "";
  show($("export-download"), false);
  show($("export-refresh"), false);
  const role = claims["custom:role"];
  $("whoami").textContent = "Signed in as " + claims.sub + " (" + role +
    (claims["custom:team_role"] ? ", team " + claims["custom:team_role"] : "") + ") of " + practice + ".";
  document.body.dataset.role = role;
  show($("practitioner"), role === "practitioner");
  show($("client"), role === "client");
  if (role === "practitioner") { await loadSettings(); await loadNotifications(); }
  else await loadClient(claims["custom:client_id"]);
}

// ---- practitioner: notifications (GET /v1/notifications, newest first)

async function loadNotifications() {
  setError($("notifications-error"), "");
  const list = $("notifications");
  list.replaceChildren();
  const r = await api("GET", "/v1/notifications?limit=20", { token: state.token });
  if (r.status !== 200) {
    setError($("notifications-error"), errorText(r));
    return;
  }
  if (r.body.notifications.length === 0) list.append(el("li", "No notifications.", "muted"));
  for (const n of r.body.notifications) {
    const li = el("li", null, "notification" + (n.read ? " read" : ""));
    li.dataset.kind = n.kind;
    li.append(el("strong", n.kind.replaceAll("_", " ")), el("span", " " + n.createdAt + " "), el("p", n.message));
    if (n.kind === "client_deletion_completed") {
      const c = el("button", "Erasure certificate", "certificate");
      c.type = "button";
      c.addEventListener("click", () => showCertificate(n.requestId));
      li.append(c);
    }
    if (!n.read) {
      const b = el("button", "Mark read");
      b.type = "button";
      b.addEventListener("click", async () => {
        const m = await api("POST", "/v1/notifications/" + encodeURIComponent(n.id) + "/read", { token: state.token });
        if (m.status !== 200) setError($("notifications-error"), errorText(m));
        await loadNotifications();
      });
      li.append(b);
    }
    list.append(li);
  }
}

// ---- practitioner: a completed request's erasure certificate
// (GET /v1/deletion-requests/{id}/certificate), checked here against the
// key of GET /v1/erasure-certificates/public-key as anyone would offline.

function base64Bytes(s) { return Uint8Array.from(atob(s), (c) => c.charCodeAt(0)); }

// derToRaw turns a DER ECDSA signature (a SEQUENCE of the INTEGERs r and
// s) into the 64 bytes r||s that WebCrypto verifies.
function derToRaw(der) {
  let i = der[1] & 0x80 ? 2 + (der[1] & 0x7f) : 2;
  const out = new Uint8Array(64);
  for (const at of [0, 32]) {
    if (der[i] !== 0x02) throw new Error("not a DER ECDSA signature");
    let v = der.subarray(i + 2, i + 2 + der[i + 1]);
    i += 2 + der[i + 1];
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    if (v.length > 32) throw new Error("not a P-256 signature");
    out.set(v, at + 32 - v.length);
  }
  return out;
}

// verifyCertificate returns the certificate's record when the key signed
// its bytes and the record names the certificate's key and algorithm;
// null otherwise.
async function verifyCertificate(cert, key) {
  if (cert.algorithm !== "ECDSA_SHA_256" || cert.keyId !== key.keyId) return null;
  const der = base64Bytes(key.publicKeyPem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""));
  const k = await crypto.subtle.importKey("spki", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  const bytes = base64Bytes(cert.record);
  if (!(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, k, derToRaw(base64Bytes(cert.signature)), bytes))) return null;
  const record = JSON.parse(new TextDecoder().decode(bytes));
  return record.keyId === cert.keyId && record.algorithm === cert.algorithm ? record : null;
}

async function showCertificate(requestId) {
  setError($("certificate-error"), "");
  show($("certificate-card"), true);
  $("certificate-status").textContent = "Loading…";
  $("certificate-record").textContent = "";
  const [c, k] = await Promise.all([
    api("GET", "/v1/deletion-requests/" + encodeURIComponent(requestId) + "/certificate", { token: state.token }),
    api("GET", "/v1/erasure-certificates/public-key", { token: state.token }),
  ]);
  if (c.status !== 200 || k.status !== 200) {
    $("certificate-status").textContent = "";
    setError($("certificate-error"), errorText(c.status !== 200 ? c : k));
    return;
  }
  let record = null;
  try { record = await verifyCertificate(c.body, k.body); } catch (_) { record = null; }
  $("certificate-card").dataset.verified = record ? "yes" : "no";
  $("certificate-status").textContent = record
    ? "Certificate of request " + record.requestId + ": the signature verifies with key " + k.body.keyId + "."
    : "The certificate does NOT verify with key " + k.body.keyId + ".";
  $("certificate-record").textContent = JSON.stringify(record || c.body, null, 2);
  $("certificate-card").scrollIntoView();
}

// ---- practitioner: export of a client's file
// (POST /v1/clients/{clientId}/exports, then GET .../exports/{exportId})

function renderExport(x) {
  let text = "Export " + x.exportId + " of " + x.clientId + ": " + x.status;
  if (x.counts) {
    text += " (" + countLabels.map(([key, label]) => (x.counts[key] ?? 0) + " " + label).join(", ") + ")";
  }
  $("export-status").textContent = text + ".";
  const a = $("export-download");
  // Only a pre-signed http(s) URL becomes a link.
  const ok = x.status === "ready" && typeof x.downloadUrl === "string" && /^https?:\/\//.test(x.downloadUrl);
  if (ok) a.href = x.downloadUrl; else a.removeAttribute("href");
  show(a, ok);
  show($("export-refresh"), x.status !== "ready" && x.status !== "failed");
}

async function startExport() {
  setError($("export-error"), "");
  const clientId = $("export-client").value;
  const r = await api("POST", "/v1/clients/" + encodeURIComponent(clientId) + "/exports", { token: state.token, body: {} });
  if (r.status !== 202) {
    setError($("export-error"), "Could not export: " + errorText(r));
    return;
  }
  state.export = { clientId: r.body.clientId, exportId: r.body.exportId };
  renderExport(r.body);
}

async function refreshExport() {
  setError($("export-error"), "");
  if (!state.export) return;
  const { clientId, exportId } = state.export;
  const r = await api("GET", "/v1/clients/" + encodeURIComponent(clientId) + "/exports/" + encodeURIComponent(exportId), { token: state.token });
  if (r.status !== 200) {
    setError($("export-error"), errorText(r));
    return;
  }
  renderExport(r.body);
}

// ---- practitioner: Regulatory Compliance

function renderSetting(s) {
  $("rtbf-toggle").checked = Boolean(s.enabled);
  let text = "Right To Be Forgotten is " + (s.enabled ? "enabled" : "disabled") + ".";
  if (s.updatedAt) text += " Last changed " + s.updatedAt + (s.updatedBy ? " by " + s.updatedBy : "") + ".";
  $("settings-status").textContent = text;
}

async function loadSettings() {
  setError($("settings-error"), "");
  $("settings-status").textContent = "Loading…";
  const r = await api("GET", "/v1/settings/right-to-be-forgotten", { token: state.token });
  if (r.status !== 200) {
    $("settings-status").textContent = "";
    setError($("settings-error"), errorText(r));
    return;
  }
  renderSetting(r.body);
}

async function saveSettings() {
  setError($("settings-error"), "");
  const btn = $("save-settings");
  btn.disabled = true;
  try {
    const r = await api("PUT", "/v1/settings/right-to-be-forgotten", { token: state.token, body: { enabled: $("rtbf-toggle").checked } });
    if (r.status !== 200) {
      setError($("settings-error"), "Could not save: " + errorText(r));
      return;
    }
    renderSetting(r.body);
    $("settings-status").textContent = "Saved. " + $("settings-status").textContent;
  } finally {
    btn.disabled = false;
  }
}

// ---- client: My Profile

const countLabels = [
  ["journalEntries", "journal entries"],
  ["documents", "documents"],
  ["chatSessions", "chat sessions"],
  ["chatMessages", "chat messages"],
];

function hideClientPanels() {
  for (const id of ["account-closed", "deletion-unavailable", "delete-account", "confirm-delete", "request-status"]) show($(id), false);
  setError($("client-error"), "");
}

function renderRequest(req) {
  $("req-id").textContent = req.id;
  $("req-status").textContent = req.status;
  $("req-requested").textContent = req.requestedAt;
  $("req-purge").textContent = req.purgeAt;
  const list = $("req-will-delete");
  list.replaceChildren();
  const counts = req.willDelete || {};
  for (const [key, label] of countLabels) {
    const li = el("li", (counts[key] ?? 0) + " " + label);
    li.dataset.count = key;
    list.append(li);
  }
  show($("request-status"), true);
  // Cancellable until its purge starts.
  show($("cancel-deletion"), req.status === "scheduled");
  if (req.purgeAt) setPurgeAt(req.purgeAt);
}

async function loadClient(clientID) {
  hideClientPanels();
  $("client-name").textContent = "Client " + clientID;
  const r = await api("GET", "/v1/portal/account-deletion", { token: state.token });
  if (r.status === 403 && r.body && r.body.error && r.body.error.code === "account_closed") {
    $("account-closed-message").textContent = errorText(r);
    show($("account-closed"), true);
    return;
  }
  if (r.status !== 200) {
    setError($("client-error"), errorText(r));
    return;
  }
  if (r.body.request) {
    renderRequest(r.body.request);
  } else if (r.body.available) {
    show($("delete-account"), true);
  } else {
    show($("deletion-unavailable"), true);
  }
}

async function confirmDelete() {
  const btn = $("confirm-yes");
  btn.disabled = true;
  try {
    const r = await api("POST", "/v1/portal/account-deletion", { token: state.token, body: { confirm: true } });
    if (r.status !== 200 && r.status !== 202) {
      setError($("client-error"), "Could not request deletion: " + errorText(r));
      return;
    }
    hideClientPanels();
    renderRequest(r.body);
  } finally {
    btn.disabled = false;
  }
}

async function cancelDeletion() {
  const btn = $("cancel-deletion");
  btn.disabled = true;
  try {
    const r = await api("DELETE", "/v1/portal/account-deletion", { token: state.token });
    if (r.status !== 200) {
      setError($("client-error"), "Could not cancel: " + errorText(r));
      return;
    }
    // The request is withdrawn: show the profile as it now is.
    await loadClient(state.who);
  } finally {
    btn.disabled = false;
  }
}

// ---- scheduler

function setPurgeAt(purgeAt) {
  const t = new Date(purgeAt);
  if (isNaN(t)) return;
  state.purgeAt = purgeAt;
  t.setUTCMinutes(t.getUTCMinutes() + 1);
  $("sched-at").value = t.toISOString().replace(/\.\d{3}Z$/, "Z");
}

async function runScheduler() {
  setError($("sched-error"), "");
  const out = $("sched-result");
  out.replaceChildren();
  const at = $("sched-at").value.trim();
  const r = await api("POST", "/_local/scheduler/run" + (at ? "?at=" + encodeURIComponent(at) : ""));
  if (r.status !== 200) {
    setError($("sched-error"), errorText(r));
    return;
  }
  const ran = r.body.ran || [];
  const skipped = r.body.skipped || [];
  out.append(el("p", "At " + r.body.at + ": ran " + ran.length + " schedule(s), skipped " + skipped.length +
    ". The local clock reads " + r.body.clock + "."));
  for (const s of ran) {
    const div = el("div", null, "card");
    div.dataset.schedule = s.name;
    div.append(el("h3", s.name));
    const res = s.result || {};
    const dl = el("dl");
    const add = (k, v) => { const dd = el("dd", v); dl.append(el("dt", k), dd); return dd; };
    add("Target", s.target);
    if (res.requestId) add("Request", res.requestId);
    add("Result", res.status || "(none)").className = "purge-status";
    if (res.deleted) {
      for (const [key, label] of countLabels) add("Deleted " + label, res.deleted[key] ?? 0);
    }
    add("Schedule deleted", s.deleted ? "yes" : "no");
    if (s.attempt > 1) add("Attempt", String(s.attempt));
    if (s.error) add("Error", s.error);
    if (s.retryAt) add("Retried at", s.retryAt);
    if (s.deadLetter) add("Given up", "sent to the dead-letter queue (GET /_local/scheduler/dead-letters)");
    div.append(dl);
    out.append(div);
  }
  for (const s of skipped) out.append(el("p", "Skipped " + s.name + " (" + s.expression + "): " + s.reason, "muted"));
  const raw = el("details");
  raw.append(el("summary", "Raw response"), el("pre", JSON.stringify(r.body, null, 2)));
  out.append(raw);
}

// ---- sent mail

async function loadMail() {
  setError($("mail-error"), "");
  const r = await api("GET", "/_local/mail");
  if (r.status !== 200) {
    setError($("mail-error"), errorText(r));
    return;
  }
  const list = $("mail-list");
  list.replaceChildren();
  const msgs = (r.body && r.body.messages) || [];
  show($("mail-empty"), msgs.length === 0);
  for (const m of msgs) {
    const art = el("article", null, "mail");
    art.append(el("h3", m.subject || "(no subject)"));
    art.append(el("div", "From: " + m.from, "meta"));
    art.append(el("div", "To: " + (m.to || []).join(", "), "meta"));
    art.append(el("pre", m.text || "(no text part)"));
    if (m.html) {
      const d = el("details");
      d.append(el("summary", "HTML part (source)"), el("pre", m.html));
      art.append(d);
    }
    list.append(art);
  }
}

// ---- wiring

document.addEventListener("DOMContentLoaded", () => {
  const q = new URLSearchParams(location.search);
  if (q.get("practice")) $("practice").value = q.get("practice");
  for (const b of document.querySelectorAll("[data-signin]")) {
    b.addEventListener("click", () => signIn(b.dataset.signin));
  }
  $("save-settings").addEventListener("click", saveSettings);
  $("refresh-notifications").addEventListener("click", loadNotifications);
  $("delete-account").addEventListener("click", () => {
    show($("delete-account"), false);
    show($("confirm-delete"), true);
  });
  $("confirm-no").addEventListener("click", () => {
    show($("confirm-delete"), false);
    show($("delete-account"), true);
  });
  $("confirm-yes").addEventListener("click", confirmDelete);
  $("cancel-deletion").addEventListener("click", cancelDeletion);
  $("export-start").addEventListener("click", startExport);
  $("export-refresh").addEventListener("click", refreshExport);
  $("run-scheduler").addEventListener("click", runScheduler);
  $("refresh-mail").addEventListener("click", loadMail);
  $("sched-at").value = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  loadMail();
});
