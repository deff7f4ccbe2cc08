// The app's entry: asks the node who is signed in (the session cookie is invisible here) and shows
// that person's screens, or the welcome screen. Signing out ends the session at the node, which
// also tells the browser to clear what it keeps for the site, and reloads the page so nothing
// read stays in memory.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, get, setCsrfToken } from './api.js';
import { ClinicianHome, StaffSignIn } from './clinician.js';
import { language, t } from './i18n.js';
import { ItHome } from './it.js';
import { PatientHome, PatientSignIn } from './patient.js';
import { useSignal } from './state.js';
import { Button, Page, Tabs, html } from './ui.js';
import './styles.css';

function Welcome({ onChoose }) {
  return html`<${Page} title=${t('welcome.title')}>
    <p class="lead">${t('welcome.intro')}</p>
    <div class="choices">
      <${Button} onClick=${() => onChoose('patient')}>${t('welcome.patient')}<//>
      <${Button} kind="secondary" onClick=${() => onChoose('staff')}>${t('welcome.staff')}<//>
    </div>
  <//>`;
}

function StaffHome({ session, onSignOut }) {
  const roles = session.roles || [];
  const [view, setView] = useState(roles.includes('clinician') ? 'clinician' : 'it');
  const nav = roles.length > 1
    ? html`<${Tabs} tabs=${roles.map((role) => ({ id: role, label: t(`staff.role.${role}`) }))} current=${view} onSelect=${setView} />`
    : null;
  return view === 'clinician'
    ? html`<${ClinicianHome} session=${session} onSignOut=${onSignOut} nav=${nav} />`
    : html`<${ItHome} onSignOut=${onSignOut} nav=${nav} />`;
}

function App() {
  useSignal(language); // re-render everything when the language changes
  const [session, setSession] = useState(undefined);
  const [choice, setChoice] = useState('');
  const adopt = (next) => {
    setCsrfToken(next ? next.csrfToken : null);
    setSession(next);
  };
  useEffect(() => {
    get('/app/api/session').then(adopt, () => adopt(null));
  }, []);
  // A staff session is renewed while the app is open; the node answers with a fresh cookie.
  useEffect(() => {
    if (!session) return undefined;
    const timer = setInterval(() => {
      get('/app/api/session').then(adopt, (error) => {
        if (error instanceof ApiError && error.status === 401) adopt(null);
      });
    }, 60000);
    return () => clearInterval(timer);
  }, [session?.role]);
  const signOut = async () => {
    try {
      await del('/app/api/session');
    } finally {
      window.location.replace('/app/');
    }
  };
  if (session === undefined) return html`<${Page}><p>${t('app.loading')}</p><//>`;
  if (session?.role === 'patient') return html`<${PatientHome} onSignOut=${signOut} />`;
  if (session?.role === 'staff') return html`<${StaffHome} session=${session} onSignOut=${signOut} />`;
  if (choice === 'patient') return html`<${PatientSignIn} onSignedIn=${adopt} onBack=${() => setChoice('')} />`;
  if (choice === 'staff') return html`<${StaffSignIn} onSignedIn=${adopt} onBack=${() => setChoice('')} />`;
  return html`<${Welcome} onChoose=${setChoice} />`;
}

render(html`<${App} />`, document.getElementById('app'));
