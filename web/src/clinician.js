// The clinician's screens at their own user node (HIU): find a patient by health ID, ask for
// consent with defaults that suit the purpose, watch the requests, read what arrived (summary
// first, then by type, lab trends as charts), and break the glass with a reason and a countdown.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, post } from './api.js';
import { formatDate, formatDateTime, t } from './i18n.js';
import { HI_TYPES } from './patient.js';
import { RecordsView } from './records.js';
import { Button, CheckList, Field, Notice, Page, Select, Tabs, TextArea, html, useAction } from './ui.js';

const DAY = 24 * 60 * 60 * 1000;

// What a request for each purpose asks by default: which records, how far back, how long kept.
const PURPOSE_DEFAULTS = {
  CAREMGT: { types: ['OPConsultation', 'Prescription', 'DiagnosticReport', 'DischargeSummary'], backDays: 365, keepDays: 30 },
  PUBHLTH: { types: ['ImmunizationRecord', 'DiagnosticReport'], backDays: 365, keepDays: 7 },
  HPAYMT: { types: ['DischargeSummary', 'Prescription'], backDays: 90, keepDays: 30 },
  DSRCH: { types: ['DiagnosticReport'], backDays: 5 * 365, keepDays: 90 },
};

const dateInput = (ms) => new Date(ms).toISOString().slice(0, 10);

export function StaffSignIn({ onSignedIn, onBack }) {
  const [clientId, setClientId] = useState('');
  const [secret, setSecret] = useState('');
  const { busy, error, run } = useAction();
  const signIn = (event) => {
    event.preventDefault();
    run(async () => onSignedIn(await post('/app/api/session/staff', { clientId: clientId.trim(), clientSecret: secret.trim() })));
  };
  return html`<${Page} title=${t('staff.signIn.title')}>
    <p>${t('staff.signIn.intro')}</p>
    <form onSubmit=${signIn}>
      <${Field} label=${t('staff.clientId')} value=${clientId} onInput=${setClientId} required autocomplete="username" name="clientId" />
      <${Field} label=${t('staff.secret')} type="password" value=${secret} onInput=${setSecret} required autocomplete="current-password" name="clientSecret" />
      <${Notice} kind="error">${error}<//>
      <${Button} type="submit" busy=${busy}>${t('action.signIn')}<//>
    </form>
    <button type="button" class="link" onClick=${onBack}>${t('action.back')}</button>
  <//>`;
}

export function ClinicianHome({ session, onSignOut, nav }) {
  const [tab, setTab] = useState('find');
  const [opened, setOpened] = useState(null);
  const tabs = [
    { id: 'find', label: t('clinician.tab.find') },
    { id: 'requests', label: t('clinician.tab.requests') },
    { id: 'emergency', label: t('clinician.tab.emergency') },
  ];
  const select = (id) => { setOpened(null); setTab(id); };
  return html`<${Page} onSignOut=${onSignOut} title=${t('clinician.hello', { name: session.name })}
      nav=${html`${nav}<${Tabs} tabs=${tabs} current=${opened ? '' : tab} onSelect=${select} />`}>
    ${opened
      ? html`<${ReceivedRecords} request=${opened} onBack=${() => setOpened(null)} />`
      : html`
        ${tab === 'find' && html`<${FindAndAsk} onAsked=${() => setTab('requests')} />`}
        ${tab === 'requests' && html`<${MyRequests} onOpen=${setOpened} />`}
        ${tab === 'emergency' && html`<${BreakGlass} onOpen=${setOpened} />`}`}
  <//>`;
}

function FindAndAsk({ onAsked }) {
  const [healthId, setHealthId] = useState('');
  const [patient, setPatient] = useState(null);
  const [purpose, setPurpose] = useState('CAREMGT');
  const defaults = PURPOSE_DEFAULTS[purpose];
  const now = Date.now();
  const [types, setTypes] = useState(defaults.types);
  const [from, setFrom] = useState(dateInput(now - defaults.backDays * DAY));
  const [to, setTo] = useState(dateInput(now));
  const [keep, setKeep] = useState(dateInput(now + defaults.keepDays * DAY));
  const { busy, error, run } = useAction();
  const choosePurpose = (code) => {
    const d = PURPOSE_DEFAULTS[code];
    setPurpose(code);
    setTypes(d.types);
    setFrom(dateInput(Date.now() - d.backDays * DAY));
    setKeep(dateInput(Date.now() + d.keepDays * DAY));
  };
  const find = (event) => {
    event.preventDefault();
    setPatient(null);
    run(async () => setPatient(await get(`/hiu/v1/patients/${encodeURIComponent(healthId.trim())}`)));
  };
  const ask = (event) => {
    event.preventDefault();
    run(async () => {
      const endOfToday = new Date(`${to}T23:59:59+05:30`).getTime();
      await post('/hiu/v1/consent-requests', {
        patient: { id: patient.id },
        purpose: { code: purpose },
        hiTypes: types,
        dateRange: { from: new Date(`${from}T00:00:00+05:30`).toISOString(), to: new Date(Math.min(endOfToday, Date.now())).toISOString() },
        dataEraseAt: new Date(`${keep}T23:59:59+05:30`).toISOString(),
      });
      onAsked();
    });
  };
  return html`<section>
    <form onSubmit=${find} class="inline">
      <${Field} label=${t('clinician.healthId')} hint=${t('clinician.healthId.hint')} value=${healthId} onInput=${setHealthId} required name="healthId" />
      <${Button} type="submit" busy=${busy}>${t('clinician.find')}<//>
    </form>
    <${Notice} kind="error">${error}<//>
    ${patient && html`<form onSubmit=${ask} class="ask">
      <p class="found" data-patient=${patient.id}>${t('clinician.found', { name: patient.name, id: patient.id })}</p>
      <${Select} label=${t('clinician.purpose')} value=${purpose} onChange=${choosePurpose}
        options=${Object.keys(PURPOSE_DEFAULTS).map((code) => ({ value: code, label: t(`purposeName.${code}`) }))} />
      <${CheckList} legend=${t('clinician.whichRecords')} chosen=${types} onChange=${setTypes}
        options=${HI_TYPES.map((type) => ({ value: type, label: t(`hiType.${type}`) }))} />
      <${Field} type="date" label=${t('inbox.from.date')} value=${from} onInput=${setFrom} max=${to} />
      <${Field} type="date" label=${t('inbox.to.date')} value=${to} onInput=${setTo} min=${from} />
      <${Field} type="date" label=${t('clinician.keepUntil')} value=${keep} onInput=${setKeep} />
      <${Button} type="submit" busy=${busy} disabled=${busy || !types.length}>${t('clinician.ask')}<//>
    </form>`}
  </section>`;
}

function Countdown({ until }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = Math.max(0, Date.parse(until) - now);
  const hours = Math.floor(left / 3600000);
  const minutes = Math.floor((left % 3600000) / 60000);
  const seconds = Math.floor((left % 60000) / 1000);
  const text = `${hours}:${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
  return html`<p class="countdown" role="timer" aria-live="off" data-left=${left}>
    ${left > 0 ? t('btg.endsIn', { time: text }) : t('btg.ended')}</p>`;
}

function MyRequests({ onOpen }) {
  const [requests, setRequests] = useState(null);
  const { error, run } = useAction();
  useEffect(() => {
    const load = () => run(async () => setRequests((await get('/hiu/v1/consent-requests')).requests));
    load();
    const timer = setInterval(load, 3000);
    return () => clearInterval(timer);
  }, []);
  if (!requests) return html`<p>${t('app.loading')}</p><${Notice} kind="error">${error}<//>`;
  if (!requests.length) return html`<p class="empty">${t('clinician.noRequests')}</p>`;
  return html`<ul class="cards">${requests.map((request) => html`<li>
    <article class="request" data-request=${request.id} data-status=${request.status}>
      <h3>${request.patient.id}${request.breakGlass ? html` <span class="badge badge-danger">${t('log.breakGlass')}</span>` : ''}</h3>
      <p>${t(`purposeName.${request.purpose.code}`)} · ${request.hiTypes.map((type) => t(`hiType.${type}`)).join(', ') || t('btg.allRecords')}</p>
      <p class="small">${t('clinician.askedAt', { date: formatDateTime(request.askedAt) })}</p>
      <p class=${`status status-${request.status}`}>${t(`status.${request.status}`)}</p>
      ${request.breakGlass && request.status === 'GRANTED' && html`<${Countdown} until=${request.dataEraseAt} />`}
      ${request.status === 'GRANTED' && html`<${Button} onClick=${() => onOpen(request)}>${t('clinician.open')}<//>`}
    </article></li>`)}</ul>`;
}

// Asks each artefact's hospital for the records once, then shows what has arrived.
function ReceivedRecords({ request, onBack }) {
  const [documents, setDocuments] = useState([]);
  const [pending, setPending] = useState(true);
  const [ended, setEnded] = useState('');
  const { error, run } = useAction();
  useEffect(() => {
    let stopped = false;
    let timer = null;
    const artefacts = request.consentArtefacts.map((a) => a.id);
    const poll = async () => {
      const all = [];
      let waiting = false;
      for (const id of artefacts) {
        try {
          const received = await get(`/hiu/v1/consents/${id}/health-information`);
          all.push(...received.documents);
          if (!received.transfers.length || received.transfers.some((tr) => tr.status === 'REQUESTED')) waiting = true;
        } catch (caught) {
          if (caught instanceof ApiError && [403, 404, 410].includes(caught.status)) {
            setEnded(caught.message);
            setDocuments([]);
            setPending(false);
            return;
          }
          throw caught;
        }
      }
      if (stopped) return;
      setDocuments(all);
      setPending(waiting);
      if (waiting) timer = setTimeout(() => run(poll), 1000);
    };
    run(async () => {
      for (const id of artefacts) {
        await post(`/hiu/v1/consents/${id}/health-information`).catch((caught) => {
          if (!(caught instanceof ApiError) || ![403, 410].includes(caught.status)) throw caught;
        });
      }
      await poll();
    });
    return () => { stopped = true; clearTimeout(timer); };
  }, [request.id]);
  return html`<section class="received" data-request=${request.id}>
    <button type="button" class="link" onClick=${onBack}>${t('action.back')}</button>
    <h2>${t('clinician.recordsOf', { id: request.patient.id })}</h2>
    ${request.breakGlass && html`<${Countdown} until=${request.dataEraseAt} />`}
    <p class="small">${t('clinician.erasedOn', { date: formatDate(request.dataEraseAt) })}</p>
    <${Notice} kind="error">${error}<//>
    ${ended && html`<${Notice} kind="warning">${t('clinician.accessEnded')} (${ended})<//>`}
    ${pending && !ended && html`<p role="status">${t('clinician.waiting')}</p>`}
    ${!ended && html`<${RecordsView} documents=${documents} />`}
  </section>`;
}

function BreakGlass({ onOpen }) {
  const [patient, setPatient] = useState('');
  const [hip, setHip] = useState('');
  const [reason, setReason] = useState('');
  const [minutes, setMinutes] = useState('60');
  const { busy, error, run } = useAction();
  const open = (event) => {
    event.preventDefault();
    run(async () => {
      const granted = await post('/hiu/v1/break-glass', {
        patient: { id: patient.trim() }, hip: { id: hip.trim() }, reason: reason.trim(), durationMinutes: Number(minutes),
      });
      onOpen(granted);
    });
  };
  return html`<section>
    <${Notice} kind="warning">${t('btg.warning')}<//>
    <form onSubmit=${open}>
      <${Field} label=${t('clinician.healthId')} value=${patient} onInput=${setPatient} required name="btgPatient" />
      <${Field} label=${t('btg.hospital')} hint=${t('btg.hospital.hint')} value=${hip} onInput=${setHip} required name="btgHospital" />
      <${TextArea} label=${t('btg.reason')} hint=${t('btg.reason.hint')} value=${reason} onInput=${setReason} required minLength=${10} maxLength=${500} />
      <${Select} label=${t('btg.duration')} value=${minutes} onChange=${setMinutes}
        options=${['15', '30', '60', '240'].map((m) => ({ value: m, label: t('btg.minutes', { minutes: m }) }))} />
      <${Notice} kind="error">${error}<//>
      <${Button} kind="danger" type="submit" busy=${busy}>${t('btg.open')}<//>
    </form>
  </section>`;
}
