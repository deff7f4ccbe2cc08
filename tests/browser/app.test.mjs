// The web app in a real browser: Debian's Chromium, headless, driven by playwright-core, against a
// real `kavach` node (every role on one node, as the demo runs) on loopback.
//
// One story, step by step, as the issue's done-when tells it: a patient enrols, links her hospital
// and fetches her own records (decrypted only in the browser); a clinician finds
// them and asks for consent; the patient grants a narrowed version; the clinician sees exactly
// those records; the patient sees the access in their (verified) log and revokes; the clinician
// loses access. Then break-the-glass with its countdown, the Hindi switch, the 360 px layout, an
// axe-core check of every screen, and the session's security: cookie flags, CSRF, the CSP, and
// nothing left in browser storage after sign-out. Each screen is saved as a screenshot under
// KAVACH_BROWSER_OUTPUT (default build/browser-tests).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');
const binary = process.env.KAVACH_BINARY || join(repo, 'build', 'debug', 'kavach');
const output = process.env.KAVACH_BROWSER_OUTPUT || join(repo, 'build', 'browser-tests');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const MOBILE = '9876543210';

let node;
let base;
let work;
let browser;
const state = {};

function kavach(...args) {
  const run = spawnSync(binary, args, { encoding: 'utf8' });
  assert.equal(run.status, 0, `kavach ${args.join(' ')}: ${run.stderr}`);
  return run.stdout;
}

function freePort() {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

async function until(condition, what, timeoutMs = 20000, everyMs = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

// The notices the node "sent" to MOBILE (its notifications.jsonl stands in for SMS). The node may
// be writing while this reads (the file is created empty, then lines are appended), so only
// complete lines count.
function noticesToMobile() {
  const path = join(work, 'data', 'notifications.jsonl');
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete.split('\n').filter((line) => line).map((line) => JSON.parse(line))
    .filter((notice) => notice.to === MOBILE);
}
// The last one-time code sent to MOBILE, once more than `after` notices have been.
function lastCode(after = 0) {
  const notices = noticesToMobile();
  if (notices.length <= after) return null;
  return notices[notices.length - 1].text.match(/\b(\d{6})\b/)[1];
}
const codeCount = () => noticesToMobile().length;
const nextCode = (seen) => until(() => lastCode(seen), 'a one-time code');

async function api(method, path, { token, body } = {}) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function clientToken(client) {
  const response = await fetch(`${base}/oauth2/token`, {
    method: 'POST',
    headers: {
      Authorization: `Basic ${Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64')}`,
      'Content-Type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  return (await response.json()).access_token;
}

async function shot(page, name) {
  await page.screenshot({ path: join(output, `${name}.png`), fullPage: true });
}

// axe-core's critical findings on the page as it is now (run through the DevTools protocol, which
// the page's CSP does not govern).
async function axeCritical(page) {
  const result = await page.evaluate(`${axeSource}; axe.run(document, { resultTypes: ['violations'] })`);
  return result.violations.filter((v) => v.impact === 'critical').map((v) => `${v.id}: ${v.help}`);
}

async function newPage(viewport = { width: 1024, height: 800 }) {
  const context = await browser.newContext({ viewport, locale: 'en-IN' });
  const page = await context.newPage();
  page.cspViolations = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) page.cspViolations.push(message.text());
  });
  return page;
}

// The HIP's records of the patient: a visit two months ago and one last week, each with an HbA1c
// (a lab result), blood pressure (a vital sign) and a prescription.
async function seedHospital(token) {
  const made = async (resource) => {
    const reply = await api('POST', `/fhir/R4/${resource.resourceType}`, { token, body: resource });
    assert.equal(reply.status, 201, JSON.stringify(reply.body));
    return reply.body.id;
  };
  const patient = await made({
    resourceType: 'Patient', name: [{ given: ['Asha'], family: 'Devi' }], gender: 'female', birthDate: '1986-04-02',
    telecom: [{ system: 'phone', value: '+91 98765 43210' }],
  });
  for (const [daysAgo, hba1c, systolic, medicine] of [[60, 7.4, 148, 'Metformin 500 mg'], [7, 6.6, 132, 'Metformin 1000 mg']]) {
    const when = new Date(Date.now() - daysAgo * 86400000).toISOString();
    const visit = await made({
      resourceType: 'Encounter', status: 'finished',
      class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
      subject: { reference: `Patient/${patient}` }, period: { start: when },
    });
    const common = { subject: { reference: `Patient/${patient}` }, encounter: { reference: `Encounter/${visit}` } };
    await made({
      resourceType: 'Observation', status: 'final', ...common, effectiveDateTime: when,
      code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }], text: 'HbA1c' },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }] }],
      valueQuantity: { value: hba1c, unit: '%' }, referenceRange: [{ low: { value: 4 }, high: { value: 5.6 } }],
    });
    await made({
      resourceType: 'Observation', status: 'final', ...common, effectiveDateTime: when,
      code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }], text: 'Systolic blood pressure' },
      category: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'vital-signs' }] }],
      valueQuantity: { value: systolic, unit: 'mm[Hg]' },
    });
    await made({
      resourceType: 'MedicationRequest', status: 'active', intent: 'order', ...common, authoredOn: when,
      medicationCodeableConcept: { text: medicine },
    });
  }
  return patient;
}

// Starts (or restarts) the node with every role, plus `extraConfig`.
async function startNode(extraConfig) {
  if (node) {
    node.kill('SIGTERM');
    await new Promise((r) => node.once('exit', r));
  }
  writeFileSync(join(work, 'kavach.toml'), `[consent]\ncm_id = "sbx"\nfacility_id = "demo-hospital"\n${extraConfig}`);
  node = spawn(binary, ['serve', ...state.common, '--listen', `127.0.0.1:${state.port}`, '--config', join(work, 'kavach.toml')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  node.log = '';
  node.stdout.on('data', (chunk) => { node.log += chunk; });
  node.stderr.on('data', (chunk) => { node.log += chunk; });
  await until(async () => (await fetch(`${base}/readyz`).catch(() => null))?.ok, 'the node to start', 60000);
}

before(async () => {
  mkdirSync(output, { recursive: true });
  work = mkdtempSync(join(tmpdir(), 'kavach-browser-'));
  const data = join(work, 'data');
  const keyFile = join(work, 'node.key');
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const common = ['--data', data, '--key-file', keyFile];
  kavach('keys', 'init', '--key-file', keyFile);
  const cmKey = kavach('consent', 'key', ...common).split('\n').find((l) => l.startsWith('cm_key:')).split(/\s+/)[1];
  kavach('registry', 'facility', 'add', ...common, '--id', 'demo-hospital', '--name', 'Demo Hospital', '--roles', 'hip,hiu',
    '--callback-url', base, '--public-key', cmKey);
  kavach('registry', 'professional', 'add', ...common, '--id', 'dr-manju', '--name', 'Dr. Manju', '--facility', 'demo-hospital',
    '--registration', 'MH1001');
  state.clinician = JSON.parse(kavach('client', 'add', ...common, '--name', 'Dr. Manju', '--scopes', 'professional:MH1001', '--json'));
  state.it = JSON.parse(kavach('client', 'add', ...common, '--name', 'Hospital IT', '--scopes', 'kavach/admin', '--json'));
  state.hmis = JSON.parse(kavach('client', 'add', ...common, '--name', 'HMIS', '--scopes', 'system/*.cruds', '--json'));
  state.common = common;
  state.port = port;
  await startNode('');
  state.hipPatient = await seedHospital(await clientToken(state.hmis));
  browser = await chromium.launch({
    executablePath: process.env.KAVACH_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
});

after(async () => {
  await browser?.close();
  if (node) {
    node.kill('SIGTERM');
    await new Promise((r) => node.once('exit', r));
  }
  if (process.exitCode && node) process.stderr.write(node.log.slice(-8000));
  rmSync(work, { recursive: true, force: true });
});

describe('the web app', { concurrency: false }, () => {
  test('is served with a strict Content-Security-Policy, small enough for slow 3G', async () => {
    const page = await fetch(`${base}/app/`, { headers: { 'Accept-Encoding': 'gzip' } });
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy');
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-content-type-options'), 'nosniff');
    const html = await page.text();
    assert.doesNotMatch(html, /<script>(?!<\/script>)|<script(?![^>]*src=)[^>]*>[^<]+<\/script>/, 'no inline script');
    let total = Number(page.headers.get('content-length') || html.length);
    for (const [, asset] of html.matchAll(/(?:src|href)="(\/app\/assets\/[^"]+)"/g)) {
      const reply = await fetch(`${base}${asset}`, { headers: { 'Accept-Encoding': 'gzip' } });
      assert.equal(reply.status, 200);
      assert.equal(reply.headers.get('content-encoding'), 'gzip');
      assert.match(reply.headers.get('cache-control'), /immutable/);
      total += Number(reply.headers.get('content-length'));
    }
    assert.ok(total < 200 * 1024, `first load is ${total} bytes compressed`);
    assert.equal((await fetch(`${base}/app/patient/requests`)).status, 200, 'the app answers its own paths');
    assert.equal((await fetch(`${base}/app/missing.js`)).status, 404);
  });

  test('a patient enrols with a one-time code and signs in', async () => {
    const page = (state.patient = await newPage({ width: 360, height: 740 }));
    await page.goto(`${base}/app/`);
    await shot(page, '01-welcome');
    assert.deepEqual(await axeCritical(page), []);
    await page.getByRole('button', { name: 'I am a patient' }).click();
    await page.getByRole('button', { name: 'Create your health ID' }).click();
    await page.getByLabel('Full name').fill('Asha Devi');
    await page.getByLabel('Year of birth').fill('1986');
    await page.getByLabel('Gender').selectOption('F');
    await page.getByLabel('Mobile number').fill(MOBILE);
    await page.getByLabel('Preferred address (optional)').fill('asha.devi');
    await shot(page, '02-enrol');
    assert.deepEqual(await axeCritical(page), []);
    let seen = codeCount();
    await page.getByRole('button', { name: 'Send me a code' }).click();
    await page.getByLabel('6-digit code').fill(await nextCode(seen));
    await page.getByRole('button', { name: 'Create my health ID' }).click();
    await page.getByText('Your health ID is ready').waitFor();
    assert.equal(await page.locator('[data-field=abhaAddress]').textContent(), 'asha.devi@sbx');
    state.abhaNumber = await page.locator('[data-field=abhaNumber]').textContent();
    await shot(page, '03-enrolled');
    seen = codeCount();
    await page.getByRole('button', { name: 'Sign in now' }).click();
    await page.getByLabel('6-digit code').fill(await nextCode(seen));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Namaste, Asha Devi' }).waitFor();
    await shot(page, '04-patient-home');

    const cookies = await page.context().cookies();
    const session = cookies.find((c) => c.name === '__Host-kavach');
    assert.ok(session, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => document.cookie), '', 'the page script cannot read the session');

    await page.getByRole('button', { name: 'Health ID' }).click();
    await page.getByRole('img', { name: /QR code/ }).waitFor();
    assert.equal(await page.locator('[data-field=abhaNumber]').textContent(), state.abhaNumber);
    await shot(page, '05-health-id-card');
    assert.deepEqual(await axeCritical(page), []);
  });

  test('the patient finds their records at the hospital and links them with its code', async () => {
    const page = state.patient;
    await page.getByRole('button', { name: 'Hospitals' }).click();
    await page.getByText('No hospital is linked yet.').waitFor();
    await page.getByRole('option', { name: 'Demo Hospital' }).waitFor({ state: 'attached' });
    assert.equal(await page.getByLabel('Hospital', { exact: true }).inputValue(), 'demo-hospital');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('Asha Devi: choose the visits to link').waitFor();
    assert.equal(await page.getByRole('checkbox').count(), 2, 'both visits found');
    await shot(page, '07-patient-found-visits');
    assert.deepEqual(await axeCritical(page), []);
    const seen = codeCount();
    await page.getByRole('button', { name: 'Link these visits' }).click();
    await page.getByText('The hospital sent a code to XXXXXX3210.').waitFor();
    await page.getByLabel('6-digit code').fill(await nextCode(seen));
    await page.getByRole('button', { name: 'Link', exact: true }).click();
    await page.locator('[data-hospital=demo-hospital]').waitFor();
    assert.equal(await page.locator('[data-hospital=demo-hospital] li').count(), 2);
    await shot(page, '08-patient-hospitals');
  });

  test('the patient fetches their own records, opened only in the browser, by visit and type with lab tables and charts', async () => {
    const page = state.patient;
    const relayed = [];
    const watch = (response) => {
      if (/\/records-requests\/[^/]+\/transfers\/[^/]+\/pages\/\d+$/.test(response.url())) relayed.push(response.text());
    };
    page.on('response', watch);
    await page.getByRole('button', { name: 'My records' }).click();
    await page.getByText('Get your records from Demo Hospital.', { exact: false }).waitFor();
    await page.getByRole('button', { name: 'Get my records' }).click();
    const own = page.locator('.own-records');
    await own.locator('table.lab').waitFor({ timeout: 30000 });
    await until(async () => /parts received/.test(await own.locator('.transfers').textContent()), 'every part received', 30000);
    await until(async () => (await own.locator('table.lab tbody tr').count()) === 2, 'both HbA1c results');
    const text = await own.textContent();
    assert.match(text, /Metformin 1000 mg/, 'her prescriptions');
    const charts = await own.locator('figure.chart figcaption').allTextContents();
    assert.ok(charts.some((c) => /HbA1c/.test(c)), 'the HbA1c trend');
    assert.ok(charts.some((c) => /Systolic blood pressure/.test(c)), 'the blood pressure trend (a vital sign)');
    assert.equal(await own.getByText(/^Visit on /).count(), 2, 'grouped by her two visits');
    await shot(page, '09-patient-own-records');
    assert.deepEqual(await axeCritical(page), []);
    page.off('response', watch);
    // What the consent manager relayed was ciphertext: no record, name or code in it.
    const bodies = await Promise.all(relayed);
    assert.ok(bodies.length >= 6, `${bodies.length} pages relayed`);
    for (const body of bodies) {
      assert.match(body, /"keyMaterial"/);
      assert.doesNotMatch(body, /HbA1c|Metformin|Asha|4548-4|laboratory/);
    }
    // Her own request is listed among her consents, in her words.
    await page.getByRole('button', { name: 'My consents' }).click();
    await page.getByRole('heading', { name: 'Your own records requests' }).waitFor();
    await page.getByText('Your own records request', { exact: true }).first().waitFor();
    await page.getByText('No one can see your records now.').waitFor();
  });

  test('the 360 px layout needs no sideways scrolling', async () => {
    const page = state.patient;
    for (const tab of ['Requests', 'My consents', 'My records', 'Access log', 'Hospitals', 'Health ID', 'Settings']) {
      await page.getByRole('button', { name: tab, exact: true }).click();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${tab} is ${overflow} px wider than the screen`);
    }
    await page.getByRole('button', { name: 'Requests', exact: true }).click();
  });

  test('a clinician finds the patient and asks for consent', async () => {
    const page = (state.doctor = await newPage());
    await page.goto(`${base}/app/`);
    await page.getByRole('button', { name: 'I work at a hospital' }).click();
    await page.getByLabel('User ID').fill(state.clinician.client_id);
    await page.getByLabel('Password').fill(state.clinician.client_secret);
    await shot(page, '10-clinician-sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Welcome, Dr. Manju' }).waitFor();
    await page.getByLabel("Patient's health ID").fill('asha.devi@sbx');
    await page.getByRole('button', { name: 'Find', exact: true }).click();
    await page.getByText('Found: Asha Devi (asha.devi@sbx)').waitFor();
    // The defaults for treatment: visit notes, prescriptions, reports and discharge summaries.
    for (const type of ['doctor visit notes', 'prescriptions', 'lab and scan reports']) {
      assert.equal(await page.getByLabel(type).isChecked(), true, type);
    }
    await shot(page, '11-clinician-ask');
    assert.deepEqual(await axeCritical(page), []);
    await page.getByRole('button', { name: 'Ask the patient for consent' }).click();
    await page.locator('[data-status=REQUESTED]').waitFor();
    await shot(page, '12-clinician-requests');
  });

  test('the patient reads the request in plain words and grants a narrowed version', async () => {
    const page = state.patient;
    const card = page.locator('article[data-request]');
    await until(async () => {
      await page.getByRole('button', { name: /^Requests/ }).click();
      return (await card.count()) > 0;
    }, 'the request in the inbox');
    const words = await card.locator('.words').textContent();
    assert.match(words, /Dr\. Manju of Demo Hospital asks to see your doctor visit notes, prescriptions, lab and scan reports and hospital discharge summaries, dated .* to .*, for your treatment\. They can keep them until/);
    await shot(page, '20-patient-inbox');
    await card.getByRole('button', { name: 'Allow less…' }).click();
    for (const type of ['doctor visit notes', 'prescriptions', 'hospital discharge summaries']) {
      await card.getByLabel(type).uncheck();
    }
    assert.equal(await card.getByLabel('Demo Hospital').isChecked(), true);
    await shot(page, '21-patient-narrow');
    assert.deepEqual(await axeCritical(page), []);
    await card.getByRole('button', { name: 'Allow what I chose' }).click();
    await until(async () => (await card.count()) === 0, 'the inbox to empty');
    await page.getByRole('button', { name: 'My consents' }).click();
    await page.getByText(/Dr\. Manju may see your lab and scan reports dated/).waitFor();
    await shot(page, '22-patient-consents');
  });

  test('the clinician sees exactly the granted records: lab reports, no prescriptions', async () => {
    const page = state.doctor;
    await page.getByRole('button', { name: 'My requests' }).click();
    const granted = page.locator('[data-status=GRANTED]');
    await granted.waitFor({ timeout: 20000 });
    await granted.getByRole('button', { name: 'Open records' }).click();
    await page.locator('table.lab').waitFor({ timeout: 30000 });
    await until(async () => (await page.locator('table.lab tbody tr').count()) === 2, 'both HbA1c results');
    const text = await page.locator('.received').textContent();
    assert.match(text, /HbA1c/);
    assert.doesNotMatch(text, /Metformin/, 'prescriptions were not granted');
    assert.doesNotMatch(text, /Systolic/, 'health measurements were not asked for');
    assert.equal(await page.locator('figure.chart').count(), 1, 'the HbA1c trend is charted');
    await shot(page, '13-clinician-records');
    assert.deepEqual(await axeCritical(page), []);
  });

  test('the patient sees the access in their log, verified against the signed checkpoint', async () => {
    const page = state.patient;
    await until(async () => {
      await page.getByRole('button', { name: 'Requests', exact: true }).click();
      await page.getByRole('button', { name: 'Access log' }).click();
      await page.locator('.log-entry').first().waitFor();
      await page.waitForFunction(() => !document.querySelector('[data-mark=checking]'));
      return (await page.locator('[data-action="consent.fetch"] [data-mark=verified]').count()) > 0;
    }, 'a verified entry of the clinician collecting the consent', 30000, 1000).catch(async (error) => {
      const seen = await page.locator('.log-entry').evaluateAll((entries) =>
        entries.map((e) => `${e.dataset.action}:${e.querySelector('[data-mark]')?.dataset.mark}`));
      throw new Error(`${error.message}; the log shows ${seen.join(' ')}`);
    });
    assert.equal(await page.locator('[data-mark=failed]').count(), 0);
    assert.ok(await page.locator('[data-action="consent.grant"]').count() > 0);
    await shot(page, '23-patient-access-log');
    assert.deepEqual(await axeCritical(page), []);
  });

  test('the patient revokes and the clinician loses access', async () => {
    const page = state.patient;
    await page.getByRole('button', { name: 'My consents' }).click();
    const clinicians = page.locator('article[data-consent]').filter({ hasNotText: 'Your own records request' });
    await clinicians.getByRole('button', { name: 'Stop access' }).click();
    await page.getByText('No one can see your records now.').waitFor();
    await shot(page, '24-patient-revoked');
    const doctor = state.doctor;
    await until(async () => {
      await doctor.getByRole('button', { name: 'My requests' }).click();
      return (await doctor.locator('[data-status=REVOKED]').count()) > 0;
    }, 'the clinician to see the revocation');
    // The records themselves are gone from the clinician's node, not just hidden.
    const artefacts = (await (await doctor.context().request.get(`${base}/hiu/v1/consent-requests`)).json()).requests[0].consentArtefacts;
    const reply = await doctor.context().request.get(`${base}/hiu/v1/consents/${artefacts[0].id}/health-information`);
    assert.ok([403, 410].includes(reply.status()), `reading after revocation answered ${reply.status()}`);
    await shot(doctor, '14-clinician-revoked');
  });

  test('break the glass: a reason, a visible countdown, every record, flagged in the patient\'s log', async () => {
    const page = state.doctor;
    await page.getByRole('button', { name: 'Emergency' }).click();
    await page.getByLabel("Patient's health ID").fill('asha.devi@sbx');
    await page.getByLabel('Hospital holding the records').fill('demo-hospital');
    await page.getByLabel('Reason').fill('Unconscious in casualty; needs current medicines before surgery');
    await page.getByLabel('Access for').selectOption('15');
    await shot(page, '15-break-glass');
    assert.deepEqual(await axeCritical(page), []);
    await page.getByRole('button', { name: 'Break the glass' }).click();
    const countdown = page.locator('.countdown');
    await countdown.waitFor();
    assert.match(await countdown.textContent(), /Emergency access ends in 0:1[45]:\d\d/);
    await until(async () => /Metformin/.test(await page.locator('.received').textContent()), 'every record, prescriptions too', 30000);
    await until(async () => (await page.locator('figure.chart').count()) === 2, 'HbA1c and blood pressure charted');
    await shot(page, '16-break-glass-records');
    const patient = state.patient;
    await until(async () => {
      await patient.getByRole('button', { name: 'Requests', exact: true }).click();
      await patient.getByRole('button', { name: 'Access log' }).click();
      await patient.locator('.log-entry').first().waitFor();
      return (await patient.locator('.log-btg').count()) > 0;
    }, 'the emergency access in the patient\'s log', 20000, 1000);
    assert.match(await patient.locator('.log-btg').first().textContent(), /Emergency access/);
    await shot(patient, '25-patient-log-break-glass');
    // She can end the emergency access like any consent, and the clinician's copy goes with it.
    const emergency = patient.locator('article[data-consent]').filter({ hasText: 'Emergency access' });
    await until(async () => {
      await patient.getByRole('button', { name: 'My consents' }).click();
      return (await emergency.count()) > 0;
    }, 'the emergency access among her consents', 20000, 1000);
    await emergency.getByRole('button', { name: 'Stop access' }).click();
    await until(async () => (await emergency.count()) === 0, 'the emergency access to end');
    const artefact = (await (await page.context().request.get(`${base}/hiu/v1/consent-requests`)).json())
      .requests.find((r) => r.breakGlass).consentArtefacts[0].id;
    await until(async () => [403, 410].includes(
      (await page.context().request.get(`${base}/hiu/v1/consents/${artefact}/health-information`)).status()),
    'the clinician to lose the emergency access');
  });

  test('Hindi at the switch, for every screen', async () => {
    const page = state.patient;
    await page.getByRole('button', { name: 'हिंदी' }).click();
    await page.getByRole('heading', { name: 'नमस्ते, Asha Devi' }).waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.lang), 'hi');
    await page.getByRole('button', { name: 'देखे जाने का लेखा' }).click();
    await page.getByRole('heading', { name: 'मेरे रिकॉर्ड किसने देखे' }).waitFor();
    await shot(page, '26-patient-hindi');
    assert.deepEqual(await axeCritical(page), []);
    await page.getByRole('button', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Namaste, Asha Devi' }).waitFor();
  });

  test('hospital IT sees health, backups, checkpoint, alerts and storage, and releases a lock', async () => {
    // A backup, for the backup tile; and a canary patient, whose every read locks the reader.
    const backupKey = join(work, 'backup.key');
    kavach('backup', 'key', '--out', backupKey);
    kavach('backup', ...state.common, '--repo', join(work, 'backups'), '--backup-key', backupKey);
    const hmis = await clientToken(state.hmis);
    const canary = await api('POST', '/fhir/R4/Patient', { token: hmis, body: { resourceType: 'Patient', name: [{ family: 'Canary' }] } });
    await startNode(`[guard]\ncanary_patients = ["${canary.body.id}"]\n`);
    const hmisAgain = await clientToken(state.hmis);
    await api('GET', `/fhir/R4/Patient/${canary.body.id}`, { token: hmisAgain });
    assert.equal((await api('GET', `/fhir/R4/Patient/${state.hipPatient}`, { token: hmisAgain })).status, 403, 'locked');

    const page = await newPage();
    await page.goto(`${base}/app/`);
    await page.getByRole('button', { name: 'I work at a hospital' }).click();
    await page.getByLabel('User ID').fill(state.it.client_id);
    await page.getByLabel('Password').fill(state.it.client_secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Hospital IT' }).waitFor();
    await page.locator('[data-tile=node]').getByText('Serving.').waitFor();
    assert.match(await page.locator('[data-tile=backup]').textContent(), /Last backup/);
    assert.match(await page.locator('[data-tile=audit]').textContent(), /Signed checkpoint covers \d+ entries/);
    assert.match(await page.locator('[data-tile=storage]').textContent(), /free of .*key-encryption key/);
    const lock = page.locator(`[data-lock="${state.hmis.client_id}"]`);
    await lock.waitFor();
    assert.match(await lock.textContent(), /^HMIS \(c-/, 'named as IT registered the client');
    assert.match(await page.locator('[data-tile=alerts]').textContent(), /canary/);
    await shot(page, '30-it');
    assert.deepEqual(await axeCritical(page), []);
    await lock.getByRole('button', { name: 'Release' }).click();
    await page.getByText('No one is locked.').waitFor();
    assert.equal((await api('GET', `/fhir/R4/Patient/${state.hipPatient}`, { token: hmisAgain })).status, 200, 'released');
    await shot(page, '31-it-released');
    assert.deepEqual(page.cspViolations, []);
    await page.context().close();
  });

  test('the patient downloads everything the CM holds as a FHIR Bundle, names a nominee, and locks their ID', async () => {
    const page = state.patient;
    await page.getByRole('button', { name: 'Settings' }).click();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download as FHIR Bundle' }).click(),
    ]);
    assert.equal(download.suggestedFilename(), 'kavach-asha.devi@sbx.json');
    const bundle = JSON.parse(readFileSync(await download.path(), 'utf8'));
    assert.equal(bundle.resourceType, 'Bundle');
    const types = bundle.entry.map((e) => e.resource.resourceType);
    assert.equal(types[0], 'Patient');
    assert.equal(bundle.entry[0].resource.identifier[0].value, state.abhaNumber);
    const consents = bundle.entry.map((e) => e.resource).filter((r) => r.resourceType === 'Consent');
    assert.ok(consents.some((c) => c.status === 'inactive'), 'the revoked consent, as a FHIR Consent');
    assert.ok(types.includes('AuditEvent'));
    const documents = bundle.entry.map((e) => e.resource).filter((r) => r.resourceType === 'Bundle');
    assert.ok(documents.length >= 6 && documents.every((d) => d.type === 'document'), 'the records she fetched, as the hospital sent them');

    // When no answer comes at all (the network down, the node restarting), the page says so in
    // its own words, not the browser's "Failed to fetch".
    const unreachable = 'Kavach could not be reached. Check the connection and try again.';
    await page.route('**/cm/v1/me/nominee', (route) => route.abort('connectionrefused'));
    await page.getByLabel("Nominee's health ID").fill('nobody@sbx');
    // The page's background refresh may show the same notice at the top of the page (the previous
    // test restarted the node), so the alert looked for is the settings screen's own.
    const settings = page.locator('section.settings');
    await page.getByRole('button', { name: 'Save' }).click();
    await settings.getByRole('alert').filter({ hasText: unreachable }).waitFor();
    await page.unroute('**/cm/v1/me/nominee');

    // A nominee must hold a health ID of their own.
    await page.getByRole('button', { name: 'Save' }).click();
    await settings.getByRole('alert').filter({ hasText: 'no account has that ABHA address' }).waitFor();

    await page.getByRole('button', { name: 'Lock my health ID' }).click();
    await page.getByText('Your health ID is locked: no new requests can reach you.').waitFor();
    await shot(page, '27-patient-locked');
    assert.deepEqual(await axeCritical(page), []);
    // A clinician's new request no longer reaches her.
    const refused = await state.doctor.evaluate(async () => {
      const { csrfToken } = await (await fetch('/app/api/session')).json();
      const now = Date.now();
      const reply = await fetch('/hiu/v1/consent-requests', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken },
        body: JSON.stringify({
          patient: { id: 'asha.devi@sbx' }, purpose: { code: 'CAREMGT' }, hiTypes: ['Prescription'],
          dateRange: { from: new Date(now - 86400000).toISOString(), to: new Date(now).toISOString() },
          dataEraseAt: new Date(now + 86400000).toISOString(),
        }),
      });
      return { status: reply.status, body: await reply.text() };
    });
    assert.equal(refused.status, 403, refused.body);
    assert.match(refused.body, /locked/);
    await page.getByRole('button', { name: 'Unlock my health ID' }).click();
    await page.getByText('While locked, no new consent request reaches you.').waitFor();
  });

  test('a request without the CSRF token is refused, and sign-out leaves nothing behind', async () => {
    const page = state.patient;
    const forged = await page.evaluate(async () => (await fetch('/cm/v1/me/lock', { method: 'POST' })).status);
    assert.equal(forged, 403, 'a cookie alone does not change anything');
    assert.equal((await (await fetch(`${base}/cm/v1/me`)).status), 401, 'no session without the cookie');
    assert.deepEqual(page.cspViolations, []);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'I am a patient' }).waitFor();
    const left = await page.evaluate(() => ({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
    assert.deepEqual(left, { local: {}, session: {}, cookie: '' });
    assert.equal((await page.context().cookies()).length, 0);
    const status = await page.evaluate(async () => (await fetch('/cm/v1/me')).status);
    assert.equal(status, 401, 'the session ended at the node');
    await shot(page, '06-signed-out');
  });
});
