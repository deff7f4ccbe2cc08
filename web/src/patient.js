// The patient's screens: enrolment, sign-in with a one-time code, the health ID card, the consent
// inbox (grant, narrowed or whole, or deny), active consents with revoke, their own records
// (own-records.js), the access log with its "verified" marks, and settings (lock, nominee,
// download of everything the CM holds and the records fetched).
import { useEffect, useState } from 'preact/hooks';
import { get, post, put } from './api.js';
import { formatDate, formatDateTime, listInWords, t } from './i18n.js';
import { OwnRecords, useOwnRecords } from './own-records.js';
import { QrCode } from './qr.js';
import { Button, CheckList, Field, Notice, Page, Select, Tabs, html, useAction } from './ui.js';
import { CHECKPOINT, inclusionStatus, verifiedCheckpoint } from './verify.js';

export const HI_TYPES = ['OPConsultation', 'Prescription', 'DiagnosticReport', 'DischargeSummary', 'ImmunizationRecord', 'HealthDocumentRecord', 'WellnessRecord'];

const dateInput = (iso) => (iso ? iso.slice(0, 10) : '');

// ---- Sign-in and enrolment -----------------------------------------------------------------

// The form that takes a one-time code from an SMS.
function CodeForm({ intro, code, setCode, onSubmit, error, busy, submitLabel, name = 'code', children }) {
  return html`<form onSubmit=${onSubmit}>
    <p>${intro}</p>
    <${Field} label=${t('patient.code')} value=${code} onInput=${setCode} required inputmode="numeric"
      autocomplete="one-time-code" pattern="[0-9]{6}" name=${name} />
    <${Notice} kind="error">${error}<//>
    <${Button} type="submit" busy=${busy}>${submitLabel}<//>
    ${children}
  </form>`;
}

export function PatientSignIn({ onSignedIn, onBack, initialHealthId = '', initialTicket = '' }) {
  const [healthId, setHealthId] = useState(initialHealthId);
  const [ticket, setTicket] = useState(initialTicket);
  const [code, setCode] = useState('');
  const [enrolling, setEnrolling] = useState(false);
  const { busy, error, run } = useAction();
  if (enrolling) {
    return html`<${Enrol} onBack=${() => setEnrolling(false)} onEnrolled=${(id, started) => {
      setHealthId(id);
      setTicket(started);
      setEnrolling(false);
    }} />`;
  }
  const sendCode = (event) => {
    event.preventDefault();
    run(async () => setTicket((await post('/cm/v1/sessions/otp', { healthId: healthId.trim() })).ticket));
  };
  const signIn = (event) => {
    event.preventDefault();
    run(async () => onSignedIn(await post('/app/api/session/patient', { ticket, code: code.trim() })));
  };
  return html`<${Page} title=${t('patient.signIn.title')}>
    <p>${t('patient.signIn.intro')}</p>
    ${!ticket
      ? html`<form onSubmit=${sendCode}>
          <${Field} label=${t('patient.healthId')} hint=${t('patient.healthId.hint')} value=${healthId}
            onInput=${setHealthId} required autocomplete="username" name="healthId" />
          <${Notice} kind="error">${error}<//>
          <${Button} type="submit" busy=${busy}>${t('action.sendCode')}<//>
        </form>`
      : html`<${CodeForm} intro=${t('patient.codeSent')} code=${code} setCode=${setCode} onSubmit=${signIn}
          error=${error} busy=${busy} submitLabel=${t('action.signIn')}>
          <button type="button" class="link" onClick=${() => setTicket('')}>${t('action.startAgain')}</button>
        <//>`}
    <p class="aside">${t('patient.new')} <button type="button" class="link" onClick=${() => setEnrolling(true)}>${t('patient.enrol.link')}</button></p>
    <button type="button" class="link" onClick=${onBack}>${t('action.back')}</button>
  <//>`;
}

function Enrol({ onEnrolled, onBack }) {
  const [form, setForm] = useState({ name: '', yearOfBirth: '', gender: 'F', mobile: '', abhaAddress: '' });
  const [ticket, setTicket] = useState('');
  const [code, setCode] = useState('');
  const [account, setAccount] = useState(null);
  const { busy, error, run } = useAction();
  const set = (name) => (value) => setForm({ ...form, [name]: value });
  const start = (event) => {
    event.preventDefault();
    run(async () => {
      const body = { ...form, yearOfBirth: Number(form.yearOfBirth), name: form.name.trim(), mobile: form.mobile.trim() };
      if (!body.abhaAddress) delete body.abhaAddress;
      setTicket((await post('/cm/v1/enrolment', body)).ticket);
    });
  };
  const confirm = (event) => {
    event.preventDefault();
    run(async () => setAccount(await post('/cm/v1/enrolment/confirm', { ticket, code: code.trim() })));
  };
  const signInNow = () =>
    run(async () => onEnrolled(account.abhaAddress, (await post('/cm/v1/sessions/otp', { healthId: account.abhaAddress })).ticket));
  if (account) {
    return html`<${Page} title=${t('patient.enrol.done')}>
      <p>${account.created ? t('patient.enrol.created') : t('patient.enrol.existing')}</p>
      <dl class="facts"><dt>${t('card.number')}</dt><dd data-field="abhaNumber">${account.abhaNumber}</dd>
        <dt>${t('card.address')}</dt><dd data-field="abhaAddress">${account.abhaAddress}</dd></dl>
      <${Notice} kind="error">${error}<//>
      <${Button} busy=${busy} onClick=${signInNow}>${t('patient.enrol.signInNow')}<//>
    <//>`;
  }
  return html`<${Page} title=${t('patient.enrol.title')}>
    ${!ticket
      ? html`<form onSubmit=${start}>
          <${Field} label=${t('patient.name')} value=${form.name} onInput=${set('name')} required autocomplete="name" name="name" />
          <${Field} label=${t('patient.yearOfBirth')} value=${form.yearOfBirth} onInput=${set('yearOfBirth')} required
            inputmode="numeric" pattern="[0-9]{4}" name="yearOfBirth" />
          <${Select} label=${t('patient.gender')} value=${form.gender} onChange=${set('gender')}
            options=${['F', 'M', 'O'].map((g) => ({ value: g, label: t(`gender.${g}`) }))} />
          <${Field} label=${t('patient.mobile')} hint=${t('patient.mobile.hint')} value=${form.mobile} onInput=${set('mobile')}
            required type="tel" inputmode="numeric" autocomplete="tel-national" name="mobile" />
          <${Field} label=${t('patient.address')} hint=${t('patient.address.hint')} value=${form.abhaAddress}
            onInput=${set('abhaAddress')} name="abhaAddress" />
          <${Notice} kind="error">${error}<//>
          <${Button} type="submit" busy=${busy}>${t('action.sendCode')}<//>
        </form>`
      : html`<${CodeForm} intro=${t('patient.codeSent')} code=${code} setCode=${setCode} onSubmit=${confirm}
          error=${error} busy=${busy} submitLabel=${t('patient.enrol.confirm')} />`}
    <button type="button" class="link" onClick=${onBack}>${t('action.back')}</button>
  <//>`;
}

// ---- The signed-in patient ------------------------------------------------------------------

export function PatientHome({ onSignOut }) {
  const [tab, setTab] = useState('requests');
  const [me, setMe] = useState(null);
  const [requests, setRequests] = useState([]);
  const [links, setLinks] = useState([]);
  const records = useOwnRecords();
  const { error, run } = useAction();
  const refresh = () =>
    run(async () => {
      const [account, inbox, linked] = await Promise.all([
        get('/cm/v1/me'),
        get('/cm/v1/patients/me/consent-requests'),
        get('/cm/v1/patients/me/links').catch(() => ({ links: [] })),
      ]);
      setMe(account);
      setRequests(inbox.requests || []);
      setLinks(linked.links || []);
    });
  useEffect(() => {
    refresh();
    const timer = setInterval(refresh, 5000);
    return () => clearInterval(timer);
  }, []);
  const pending = requests.filter((r) => r.status === 'REQUESTED');
  const tabs = [
    { id: 'requests', label: t('patient.tab.requests'), badge: pending.length || '' },
    { id: 'consents', label: t('patient.tab.consents') },
    { id: 'records', label: t('patient.tab.records') },
    { id: 'log', label: t('patient.tab.log') },
    { id: 'hospitals', label: t('patient.tab.hospitals') },
    { id: 'card', label: t('patient.tab.card') },
    { id: 'settings', label: t('patient.tab.settings') },
  ];
  const nav = html`<${Tabs} tabs=${tabs} current=${tab} onSelect=${setTab} />`;
  return html`<${Page} onSignOut=${onSignOut} nav=${nav}
      title=${me ? t('patient.hello', { name: me.name }) : t('app.loading')}>
    <${Notice} kind="error">${error}<//>
    ${me?.locked && html`<${Notice} kind="warning">${t('settings.lockedNotice')}<//>`}
    ${tab === 'requests' && html`<${Inbox} requests=${pending} links=${links} onChanged=${refresh} />`}
    ${tab === 'consents' && html`<${Consents} requests=${requests} onChanged=${refresh} />`}
    ${tab === 'records' && html`<${OwnRecords} links=${links} records=${records} />`}
    ${tab === 'log' && html`<${AccessLog} />`}
    ${tab === 'hospitals' && html`<${Hospitals} links=${links} onChanged=${refresh} />`}
    ${tab === 'card' && me && html`<${HealthCard} me=${me} />`}
    ${tab === 'settings' && me && html`<${Settings} me=${me} requests=${requests} documents=${records.documents} onChanged=${refresh} />`}
  <//>`;
}

function HealthCard({ me }) {
  const payload = JSON.stringify({ hidn: me.abhaNumber, hid: me.abhaAddress, name: me.name, gender: me.gender, dob: me.dateOfBirth || String(me.yearOfBirth) });
  return html`<section class="card" aria-labelledby="card-title">
    <h2 id="card-title">${t('card.title')}</h2>
    <div class="card-body">
      <dl class="facts">
        <dt>${t('patient.name')}</dt><dd>${me.name}</dd>
        <dt>${t('card.number')}</dt><dd data-field="abhaNumber">${me.abhaNumber}</dd>
        <dt>${t('card.address')}</dt><dd data-field="abhaAddress">${me.abhaAddress}</dd>
        <dt>${t('patient.gender')}</dt><dd>${t(`gender.${me.gender}`)}</dd>
        <dt>${t('patient.yearOfBirth')}</dt><dd>${me.dateOfBirth || me.yearOfBirth}</dd>
      </dl>
      <${QrCode} text=${payload} label=${t('card.qr')} />
    </div>
  </section>`;
}

function hiTypeWords(types) {
  return listInWords(types.map((type) => t(`hiType.${type}`)));
}

// The request in plain words: who asks, from where, why, which records, which dates, how long.
export function requestInWords(request) {
  const permission = request.permission || {};
  return t('consent.ask', {
    requester: request.requester?.name || t('consent.someone'),
    facility: request.hiu?.name || request.hiu?.id,
    types: hiTypeWords(request.hiTypes || []),
    from: formatDate(permission.dateRange?.from),
    to: formatDate(permission.dateRange?.to),
    purpose: t(`purpose.${request.purpose?.code}`),
    until: formatDate(permission.dataEraseAt),
  });
}

function Inbox({ requests, links, onChanged }) {
  if (!requests.length) return html`<p class="empty">${t('inbox.empty')}</p>`;
  return html`<ul class="cards">${requests.map((request) => html`<li><${RequestCard} request=${request} links=${links} onChanged=${onChanged} /></li>`)}</ul>`;
}

function RequestCard({ request, links, onChanged }) {
  const permission = request.permission || {};
  const hipChoices = request.hip?.id ? [{ value: request.hip.id, label: request.hip.id }]
    : links.map((link) => ({ value: link.hip.id, label: link.hip.name || link.hip.id }));
  const [types, setTypes] = useState(request.hiTypes || []);
  const [hips, setHips] = useState(hipChoices.map((c) => c.value));
  const [from, setFrom] = useState(dateInput(permission.dateRange?.from));
  const [to, setTo] = useState(dateInput(permission.dateRange?.to));
  const [until, setUntil] = useState(dateInput(permission.dataEraseAt));
  const [narrowing, setNarrowing] = useState(false);
  const { busy, error, run } = useAction();
  const grant = () =>
    run(async () => {
      const body = { hiTypes: types, hips };
      // A grant may narrow, never widen: dates the patient changed are clamped to those asked.
      const askedFrom = permission.dateRange?.from;
      const askedTo = permission.dateRange?.to;
      if (from !== dateInput(askedFrom) || to !== dateInput(askedTo)) {
        const chosenFrom = new Date(`${from}T00:00:00+05:30`).toISOString();
        const chosenTo = new Date(`${to}T23:59:59+05:30`).toISOString();
        body.dateRange = { from: chosenFrom > askedFrom ? chosenFrom : askedFrom, to: chosenTo < askedTo ? chosenTo : askedTo };
      }
      if (until !== dateInput(permission.dataEraseAt)) {
        const chosen = new Date(`${until}T23:59:59+05:30`).toISOString();
        body.dataEraseAt = chosen < permission.dataEraseAt ? chosen : permission.dataEraseAt;
      }
      await post(`/cm/v1/patients/me/consent-requests/${request.id}/grant`, body);
      onChanged();
    });
  const deny = () => run(async () => { await post(`/cm/v1/patients/me/consent-requests/${request.id}/deny`); onChanged(); });
  return html`<article class="request" data-request=${request.id} aria-labelledby=${`req-${request.id}`}>
    <h2 id=${`req-${request.id}`}>${t('inbox.from', { facility: request.hiu?.name || request.hiu?.id })}</h2>
    <p class="words">${requestInWords(request)}</p>
    <p class="small">${t('inbox.expires', { date: formatDateTime(request.expiresAt) })}</p>
    ${narrowing && html`<div class="narrow">
      <${CheckList} legend=${t('inbox.whichRecords')} chosen=${types} onChange=${setTypes}
        options=${(request.hiTypes || []).map((type) => ({ value: type, label: t(`hiType.${type}`) }))} />
      <${CheckList} legend=${t('inbox.whichHospitals')} chosen=${hips} onChange=${setHips} options=${hipChoices} />
      <${Field} type="date" label=${t('inbox.from.date')} value=${from} onInput=${setFrom} min=${dateInput(permission.dateRange?.from)} max=${to} />
      <${Field} type="date" label=${t('inbox.to.date')} value=${to} onInput=${setTo} min=${from} max=${dateInput(permission.dateRange?.to)} />
      <${Field} type="date" label=${t('inbox.until')} value=${until} onInput=${setUntil} max=${dateInput(permission.dataEraseAt)} />
    </div>`}
    ${!hipChoices.length && html`<${Notice} kind="warning">${t('inbox.noHospitals')}<//>`}
    <${Notice} kind="error">${error}<//>
    <div class="actions">
      <${Button} busy=${busy} disabled=${busy || !types.length || !hips.length} onClick=${grant}>${narrowing ? t('inbox.grantChosen') : t('inbox.grant')}<//>
      ${!narrowing && html`<${Button} kind="secondary" onClick=${() => setNarrowing(true)}>${t('inbox.narrow')}<//>`}
      <${Button} kind="danger" busy=${busy} onClick=${deny}>${t('inbox.deny')}<//>
    </div>
  </article>`;
}

function Consents({ requests, onChanged }) {
  // Her own records requests (PATRQT) are hers, not someone who can see her records: listed apart.
  const isOwn = (r) => r.purpose?.code === 'PATRQT';
  const active = requests.filter((r) => r.status === 'GRANTED' && !isOwn(r));
  const own = requests.filter((r) => r.status === 'GRANTED' && isOwn(r));
  const past = requests.filter((r) => ['DENIED', 'REVOKED', 'EXPIRED'].includes(r.status) && !isOwn(r));
  const { busy, error, run } = useAction();
  const revoke = (id) => run(async () => { await post(`/cm/v1/patients/me/consent-requests/${id}/revoke`); onChanged(); });
  const card = (request) => {
    const granted = request.granted || request;
    const words = {
      requester: request.requester?.name || '', types: hiTypeWords(granted.hiTypes || []), from: formatDate(granted.permission?.dateRange?.from),
      to: formatDate(granted.permission?.dateRange?.to), until: formatDate(granted.permission?.dataEraseAt),
    };
    return html`<li><article class="request" data-consent=${request.id}>
      <h3>${isOwn(request) ? t('consents.self') : request.hiu?.name || request.hiu?.id}${request.purpose?.code === 'BTG' ? html` <span class="badge badge-danger">${t('log.breakGlass')}</span>` : ''}</h3>
      <p>${t(isOwn(request) ? 'consents.selfAllows' : 'consents.allows', words)}</p>
      <${Button} kind="danger" busy=${busy} onClick=${() => revoke(request.id)}>${t('consents.revoke')}<//>
    </article></li>`;
  };
  return html`<section>
    <h2>${t('consents.active')}</h2>
    <${Notice} kind="error">${error}<//>
    ${!active.length && html`<p class="empty">${t('consents.none')}</p>`}
    <ul class="cards">${active.map(card)}</ul>
    ${own.length > 0 && html`<h2>${t('consents.selfTitle')}</h2><ul class="cards">${own.map(card)}</ul>`}
    ${past.length > 0 && html`<h2>${t('consents.past')}</h2>
      <ul class="plain">${past.map((r) => html`<li>${r.hiu?.name || r.hiu?.id}: ${t(`status.${r.status}`)} (${formatDate(r.createdAt)})</li>`)}</ul>`}
  </section>`;
}

const ACTION_WORDS = {
  'consent.request': 'log.action.request', 'consent.grant': 'log.action.grant', 'consent.deny': 'log.action.deny',
  'consent.revoke': 'log.action.revoke', 'consent.expire': 'log.action.expire', 'consent.fetch': 'log.action.fetch',
  'break-glass': 'log.action.breakGlass', 'data.request': 'log.action.dataRequest', 'data.transfer': 'log.action.dataTransfer',
  'audit.read': 'log.action.auditRead', 'patient.find': 'log.action.find', 'account.sign-in': 'log.action.signIn',
  'account.change': 'log.action.accountChange', 'account.enrol': 'log.action.enrol', 'record.read': 'log.action.read',
};

function AccessLog() {
  const [events, setEvents] = useState(null);
  const [marks, setMarks] = useState({});
  const { error, run } = useAction();
  useEffect(() => {
    run(async () => {
      const [bundle, key] = await Promise.all([
        get('/cm/v1/patients/me/audit-events?_count=100'),
        fetch('/audit/log/key', { cache: 'no-store' }).then((r) => r.text()),
      ]);
      const list = (bundle.entry || []).map((e) => e.resource).reverse();
      setEvents(list);
      const note = (bundle.meta?.extension || []).find((e) => e.url === CHECKPOINT)?.valueString;
      const checkpoint = note ? await verifiedCheckpoint(note, key) : null;
      const results = {};
      for (const event of list) results[event.id] = await inclusionStatus(event, checkpoint);
      setMarks(results);
    });
  }, []);
  if (!events) return html`<p>${t('app.loading')}</p><${Notice} kind="error">${error}<//>`;
  return html`<section>
    <h2>${t('log.title')}</h2>
    <p class="small">${t('log.intro')}</p>
    <${Notice} kind="error">${error}<//>
    <ul class="log">${events.map((event) => {
      const code = event.type?.code;
      const breakGlass = (event.meta?.tag || []).some((tag) => tag.code === 'break-the-glass');
      const mark = marks[event.id];
      const who = event.agent?.[0]?.location?.display || event.agent?.[0]?.type?.text || '';
      return html`<li class=${breakGlass ? 'log-entry log-btg' : 'log-entry'} data-action=${code}>
        <div><strong>${t(ACTION_WORDS[code] || 'log.action.other', { action: code })}</strong>
          ${breakGlass && html` <span class="badge badge-danger">${t('log.breakGlass')}</span>`}</div>
        <div class="small">${who}${who ? ' · ' : ''}${formatDateTime(event.recorded)}${event.outcome === '4' ? ` · ${t('log.refused')}` : ''}</div>
        <div class=${`mark mark-${mark || 'checking'}`} data-mark=${mark || 'checking'}>${t(`log.mark.${mark || 'checking'}`)}</div>
      </li>`;
    })}</ul>
  </section>`;
}

// The hospitals holding the patient's records: those linked, and finding more (ABDM discovery:
// the hospital matches the patient by their verified mobile and details, then sends a code to
// the mobile it holds before anything is linked).
function Hospitals({ links, onChanged }) {
  const [directory, setDirectory] = useState([]);
  const [hospital, setHospital] = useState('');
  const [search, setSearch] = useState(null);
  const [chosen, setChosen] = useState([]);
  const [code, setCode] = useState('');
  const { busy, error, setError, run } = useAction();
  useEffect(() => {
    run(async () => {
      const list = (await get('/cm/v1/hospitals')).hospitals;
      setDirectory(list);
      setHospital(list[0]?.id || '');
    });
  }, []);
  // Follows the discovery until it needs the patient (or fails).
  const follow = async (id, until) => {
    for (let i = 0; i < 60; i += 1) {
      const now = await get(`/cm/v1/patients/me/discoveries/${id}`);
      setSearch(now);
      if (until.includes(now.status)) return now;
      if (['NOT_FOUND', 'FAILED'].includes(now.status)) {
        setError(now.error || t(`hospitals.status.${now.status}`));
        return now;
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    return null;
  };
  const find = (event) => {
    event.preventDefault();
    run(async () => {
      const started = await post('/cm/v1/patients/me/discoveries', { hipId: hospital });
      const found = await follow(started.transactionId, ['FOUND']);
      if (found?.status === 'FOUND') setChosen(found.patient.careContexts.map((c) => c.referenceNumber));
    });
  };
  const link = () =>
    run(async () => {
      await post(`/cm/v1/patients/me/discoveries/${search.transactionId}/link`, { careContexts: chosen });
      await follow(search.transactionId, ['AWAITING_CODE']);
    });
  const confirm = (event) => {
    event.preventDefault();
    run(async () => {
      await post(`/cm/v1/patients/me/discoveries/${search.transactionId}/confirm`, { code: code.trim() });
      const done = await follow(search.transactionId, ['LINKED', 'AWAITING_CODE']);
      if (done?.status === 'LINKED') {
        setSearch(null);
        setCode('');
        onChanged();
      } else if (done?.status === 'AWAITING_CODE') {
        setError(t('hospitals.wrongCode'));
      }
    });
  };
  return html`<section>
    <h2>${t('hospitals.linked')}</h2>
    ${!links.length && html`<p class="empty">${t('hospitals.none')}</p>`}
    <ul class="cards">${links.map((link) => html`<li><article class="request" data-hospital=${link.hip.id}>
      <h3>${link.hip.name || link.hip.id}</h3>
      <ul class="plain">${link.careContexts.map((c) => html`<li>${c.display}</li>`)}</ul>
    </article></li>`)}</ul>
    <h2>${t('hospitals.find')}</h2>
    <p class="small">${t('hospitals.explain')}</p>
    <${Notice} kind="error">${error}<//>
    ${!search || ['NOT_FOUND', 'FAILED', 'LINKED'].includes(search.status)
      ? html`<form onSubmit=${find}>
          <${Select} label=${t('hospitals.hospital')} value=${hospital} onChange=${setHospital}
            options=${directory.map((h) => ({ value: h.id, label: h.name }))} />
          <${Button} type="submit" busy=${busy} disabled=${busy || !hospital}>${t('hospitals.search')}<//>
        </form>`
      : search.status === 'FOUND'
        ? html`<div>
            <${CheckList} legend=${t('hospitals.found', { name: search.patient.display })} chosen=${chosen} onChange=${setChosen}
              options=${search.patient.careContexts.map((c) => ({ value: c.referenceNumber, label: c.display }))} />
            <${Button} busy=${busy} disabled=${busy || !chosen.length} onClick=${link}>${t('hospitals.link')}<//>
          </div>`
        : search.status === 'AWAITING_CODE'
          ? html`<${CodeForm} intro=${t('hospitals.codeSent', { to: search.codeSentTo || '' })} code=${code}
              setCode=${setCode} onSubmit=${confirm} busy=${busy} submitLabel=${t('hospitals.confirm')} name="linkCode" />`
          : html`<p role="status">${t('app.loading')}</p>`}
  </section>`;
}

function Settings({ me, requests, documents, onChanged }) {
  const [nominee, setNominee] = useState(me.nominee || '');
  const [done, setDone] = useState('');
  const { busy, error, run } = useAction();
  const toggleLock = () => run(async () => { await post(me.locked ? '/cm/v1/me/unlock' : '/cm/v1/me/lock'); setDone(''); onChanged(); });
  const saveNominee = (event) => {
    event.preventDefault();
    run(async () => { await put('/cm/v1/me/nominee', { healthId: nominee.trim() }); setDone(t('settings.nomineeSaved')); onChanged(); });
  };
  // Everything the consent manager holds about the patient, and the hospitals' document Bundles
  // fetched on the records screen, as one FHIR Bundle made here and handed to the browser's
  // download (no copy stays behind).
  const download = () =>
    run(async () => {
      const log = await get('/cm/v1/patients/me/audit-events?_count=200');
      const patient = {
        resourceType: 'Patient',
        identifier: [{ system: 'https://healthid.ndhm.gov.in', value: me.abhaNumber }, { system: 'https://healthid.ndhm.gov.in/abha-address', value: me.abhaAddress }],
        name: [{ text: me.name }],
        gender: { F: 'female', M: 'male', O: 'other' }[me.gender] || 'unknown',
        birthDate: me.dateOfBirth || String(me.yearOfBirth),
      };
      const consents = requests.map((r) => ({
        resourceType: 'Consent', id: r.id,
        status: { GRANTED: 'active', REQUESTED: 'proposed', DENIED: 'rejected', REVOKED: 'inactive', EXPIRED: 'inactive' }[r.status] || 'inactive',
        scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
        category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
        dateTime: r.createdAt, organization: [{ display: r.hiu?.name || r.hiu?.id }],
        provision: { period: { start: r.permission?.dateRange?.from, end: r.permission?.dateRange?.to },
          purpose: [{ system: 'https://kavach.health/fhir/CodeSystem/abdm-purpose', code: r.purpose?.code }] },
      }));
      const records = documents.map((d) => d.bundle);
      const entries = [patient, ...consents, ...(log.entry || []).map((e) => e.resource), ...records].map((resource) => ({ resource }));
      const bundle = { resourceType: 'Bundle', type: 'collection', timestamp: new Date().toISOString(), entry: entries };
      const url = URL.createObjectURL(new Blob([JSON.stringify(bundle, null, 2)], { type: 'application/fhir+json' }));
      const link = document.createElement('a');
      link.href = url;
      link.download = `kavach-${me.abhaAddress}.json`;
      link.click();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    });
  return html`<section class="settings">
    <${Notice} kind="error">${error}<//>
    <${Notice}>${done}<//>
    <h2>${t('settings.lock')}</h2>
    <p>${me.locked ? t('settings.locked') : t('settings.lockExplain')}</p>
    <${Button} kind=${me.locked ? 'secondary' : 'danger'} busy=${busy} onClick=${toggleLock}>${me.locked ? t('settings.unlockAction') : t('settings.lockAction')}<//>
    <h2>${t('settings.nominee')}</h2>
    <form onSubmit=${saveNominee}>
      <${Field} label=${t('settings.nomineeId')} hint=${t('settings.nomineeHint')} value=${nominee} onInput=${setNominee} required />
      <${Button} type="submit" kind="secondary" busy=${busy}>${t('action.save')}<//>
    </form>
    <h2>${t('settings.download')}</h2>
    <p>${t('settings.downloadExplain')}</p>
    <${Button} kind="secondary" busy=${busy} onClick=${download}>${t('settings.downloadAction')}<//>
  </section>`;
}
