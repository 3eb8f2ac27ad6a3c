// Browser end-to-end test of the local console (infra/local/console) in
// headless Chromium, through the whole story of the product: the owner
// enables Right To Be Forgotten, a client deletes her account, the
// practitioners get the email, the purge fires at its date, the account is
// closed and the content gone. Needs the local stack at RTBF_CONSOLE_URL
// (infra/e2e/run.sh starts one). Screenshots go to RTBF_SCREENSHOTS
// (default <repo>/.run/e2e-screenshots).
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const base = process.env.RTBF_CONSOLE_URL;
const shots = process.env.RTBF_SCREENSHOTS || resolve(here, "../../.run/e2e-screenshots");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

// waitText polls a locator's text until it matches re (textContent, so
// hidden-then-shown elements are read as rendered).
async function waitText(locator, re, timeout = 20000) {
  const end = Date.now() + timeout;
  let last = "";
  for (;;) {
    if ((await locator.count()) > 0) {
      last = (await locator.first().textContent()) ?? "";
      if (re.test(last)) return last;
    }
    if (Date.now() > end) assert.fail(`text of ${locator} is ${JSON.stringify(last)}, want ${re}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("console: the whole right-to-be-forgotten story", { timeout: 180000 }, async (t) => {
  assert.ok(base, "RTBF_CONSOLE_URL must be the local stack's URL (run infra/e2e/run.sh)");
  mkdirSync(shots, { recursive: true });
  const profile = mkdtempSync(join(tmpdir(), "rtbf-e2e-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    viewport: { width: 1100, height: 900 },
  });
  t.after(async () => {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // HTTP errors the story expects (403s, the favicon's 404) are logged as
  // "Failed to load resource"; anything else (CSP violations, exceptions)
  // fails the test.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) pageErrors.push(m.text());
  });
  const shot = (name) => page.screenshot({ path: join(shots, name + ".png"), fullPage: true });
  const signIn = async (who, want) => {
    await page.click(`[data-signin="${who}"]`);
    await waitText(page.locator("#whoami"), want);
  };

  await page.goto(base + "/");
  assert.equal(await page.title(), "rtbf local console");
  await shot("01-start");

  await t.test("a team member cannot change the setting", async () => {
    await signIn("member", /pr-member/);
    await waitText(page.locator("#settings-status"), /disabled/);
    await page.check("#rtbf-toggle");
    await page.click("#save-settings");
    await waitText(page.locator("#settings-error"), /403 forbidden/);
    await shot("02-member-forbidden");
  });

  await t.test("the owner enables Right To Be Forgotten", async () => {
    await signIn("owner", /pr-owner/);
    await waitText(page.locator("#settings-status"), /disabled/);
    assert.equal(await page.isChecked("#rtbf-toggle"), false);
    assert.equal(await page.isVisible("#settings-error"), false);
    await page.check("#rtbf-toggle");
    await page.click("#save-settings");
    await waitText(page.locator("#settings-status"), /^Saved\. .*enabled.*by pr-owner/);
    await shot("03-owner-enabled");
  });

  let purgeAt;
  await t.test("the client deletes her account", async () => {
    await signIn("cl-ava", /cl-ava/);
    await page.locator("#delete-account").waitFor({ state: "visible" });
    assert.equal(await page.isVisible("#confirm-delete"), false);
    await page.click("#delete-account");
    await page.locator("#confirm-delete").waitFor({ state: "visible" });
    await shot("04-client-confirm");
    await page.click("#confirm-yes");
    await page.locator("#request-status").waitFor({ state: "visible" });
    assert.equal(await page.textContent("#req-status"), "scheduled");
    assert.match(await page.textContent("#req-id"), /\S/);
    purgeAt = await page.textContent("#req-purge");
    const days = (Date.parse(purgeAt) - Date.now()) / 86400000;
    assert.ok(days > 29 && days < 31, `purge date ${purgeAt} is not 30 days away`);
    // The seed (internal/localstack/seed.go): cl-ava wrote 3 journal
    // entries and uploaded 2 documents.
    assert.equal(await page.textContent('[data-count="journalEntries"]'), "3 journal entries");
    assert.equal(await page.textContent('[data-count="documents"]'), "2 documents");
    assert.match(await page.textContent('[data-count="chatMessages"]'), /^[1-9]\d* chat messages$/);
    assert.equal(await page.isVisible("#delete-account"), false);
    await shot("05-client-requested");
  });

  await t.test("the owner sees the email", async () => {
    await signIn("owner", /pr-owner/);
    await page.click("#refresh-mail");
    await page.locator("#mail-list .mail").first().waitFor({ state: "visible" });
    const mail = page.locator("#mail-list .mail").first();
    assert.match(await mail.locator("h3").textContent(), /\S/);
    assert.match(await mail.locator(".meta").nth(1).textContent(), /^To: .*@/);
    assert.match(await mail.locator("pre").first().textContent(), /journal/i);
    await mail.scrollIntoViewIfNeeded();
    await shot("06-owner-email");
  });

  await t.test("the owner sees the in-portal notification and marks it read", async () => {
    const item = page.locator('#notifications li[data-kind="client_deletion_requested"]').first();
    await item.waitFor({ state: "visible" });
    assert.match(await item.textContent(), /asked to delete their account/);
    await item.locator("button").click();
    await page.locator('#notifications li.read[data-kind="client_deletion_requested"]').first().waitFor({ state: "visible" });
    await item.scrollIntoViewIfNeeded();
    await shot("06b-owner-notification");
  });

  await t.test("the owner exports the client's file before the purge", async () => {
    await page.selectOption("#export-client", "cl-ava");
    await page.click("#export-start");
    await waitText(page.locator("#export-status"), /^Export \S+ of cl-ava: pending\.$/);
    // The export's schedule is due at the next minute: fire it as the
    // clock would then (the purge, 30 days out, is not due).
    const soon = new Date(Date.now() + 2 * 60000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const fired = await page.request.post(base + "/_local/scheduler/run?at=" + soon);
    assert.equal(fired.status(), 200);
    const ran = (await fired.json()).ran;
    assert.ok(ran.some((r) => /^rtbf-export-/.test(r.name) && !r.error), "the export schedule ran: " + JSON.stringify(ran));
    assert.ok(!ran.some((r) => /^rtbf-purge-/.test(r.name)), "no purge ran early");
    await page.click("#export-refresh");
    await waitText(page.locator("#export-status"), /: ready \(\d+ journal entries, \d+ documents, \d+ chat sessions, \d+ chat messages\)\.$/);
    const href = await page.getAttribute("#export-download", "href");
    assert.match(href, /^http:\/\/127\.0\.0\.1:\d+\//);
    const zip = await page.request.get(href);
    assert.equal(zip.status(), 200);
    const body = await zip.body();
    assert.equal(body.subarray(0, 2).toString(), "PK", "the download is a ZIP archive");
    await page.locator("#export-card").scrollIntoViewIfNeeded();
    await shot("06c-owner-export-ready");
  });

  await t.test("the purge fires at its date", async () => {
    const want = new Date(Date.parse(purgeAt) + 60000).toISOString().replace(/\.\d{3}Z$/, "Z");
    assert.equal(await page.inputValue("#sched-at"), want);
    await page.click("#run-scheduler");
    await waitText(page.locator("#sched-result .purge-status"), /^completed$/);
    const card = page.locator("#sched-result .card").first();
    const text = await card.textContent();
    assert.match(text, /Deleted journal entries3/);
    assert.match(text, /Deleted documents2/);
    assert.match(text, /Schedule deletedyes/);
    await card.scrollIntoViewIfNeeded();
    await shot("07-purge-completed");
  });

  await t.test("the owner gets the erasure certificate, and it verifies", async () => {
    await signIn("owner", /pr-owner/);
    const item = page.locator('#notifications li[data-kind="client_deletion_completed"]').first();
    await item.waitFor({ state: "visible" });
    await item.locator("button.certificate").click();
    await waitText(page.locator("#certificate-status"), /^Certificate of request \S+: the signature verifies with key \S+\.$/);
    assert.equal(await page.getAttribute("#certificate-card", "data-verified"), "yes");
    const record = JSON.parse(await page.textContent("#certificate-record"));
    assert.equal(record.outcome, "completed");
    assert.equal(record.clientId, "cl-ava");
    assert.equal(record.deleted.journalEntries, 3);
    assert.equal(record.deleted.documents, 2);
    // The client's receipt tells her the practice can give it to her.
    await page.click("#refresh-mail");
    const receipt = page.locator("#mail-list .mail").filter({ has: page.locator("h3", { hasText: /was deleted$/ }) }).first();
    await receipt.waitFor({ state: "visible" });
    assert.match(await receipt.locator("pre").first().textContent(), new RegExp("signed erasure certificate \\(reference " + record.requestId + "\\)"));
    await page.locator("#certificate-card").scrollIntoViewIfNeeded();
    await shot("07b-owner-certificate");
  });

  await t.test("the client's account is closed", async () => {
    await signIn("cl-ava", /cl-ava/);
    await page.locator("#account-closed").waitFor({ state: "visible" });
    assert.match(await page.textContent("#account-closed-message"), /^403 account_closed: /);
    assert.equal(await page.isVisible("#delete-account"), false);
    await shot("08-client-closed");
  });

  await t.test("another client still sees Delete My Account", async () => {
    await signIn("cl-ben", /cl-ben/);
    await page.locator("#delete-account").waitFor({ state: "visible" });
  });

  await t.test("a client requests, then cancels, and is told by email", async () => {
    await page.click("#delete-account");
    await page.click("#confirm-yes");
    await page.locator("#cancel-deletion").waitFor({ state: "visible" });
    assert.equal(await page.textContent("#req-status"), "scheduled");
    await page.click("#cancel-deletion");
    // The request is withdrawn: the profile offers deletion again.
    await page.locator("#delete-account").waitFor({ state: "visible" });
    assert.equal(await page.isVisible("#request-status"), false);
    await page.click("#refresh-mail");
    const mails = page.locator("#mail-list .mail");
    const cancelled = mails.filter({ has: page.locator("h3", { hasText: /was cancelled$/ }) }).first();
    await cancelled.waitFor({ state: "visible" });
    assert.match(await cancelled.locator(".meta").nth(1).textContent(), /cl-ben@/);
    assert.match(await cancelled.locator("pre").first().textContent(), /Nothing was deleted/);
    const confirmed = mails.filter({ has: page.locator("h3", { hasText: /^Your account deletion request with / }) });
    assert.ok(await confirmed.count() >= 2, "the clients' confirmations of their requests are listed");
    await cancelled.scrollIntoViewIfNeeded();
    await shot("09-client-cancelled-email");
  });

  assert.deepEqual(pageErrors, [], "the page logged errors");
});
