// Shared pieces of every screen: layout, fields, buttons, notices and the language switch.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import htm from 'htm';
import { languages, language, setLanguage, t } from './i18n.js';
import { useSignal } from './state.js';

export const html = htm.bind(h);

let nextId = 0;
export function useId(prefix) {
  const [id] = useState(() => `${prefix}-${++nextId}`);
  return id;
}

export function LanguageSwitch() {
  const current = useSignal(language);
  return html`<div class="language" role="group" aria-label=${t('language.choose')}>
    ${languages.map(
      ({ code, name }) => html`<button type="button" class=${code === current ? 'chip chip-on' : 'chip'}
        lang=${code} aria-pressed=${code === current} onClick=${() => setLanguage(code)}>${name}</button>`,
    )}
  </div>`;
}

export function Page({ title, onSignOut, children, nav }) {
  return html`<div class="page">
    <header class="top">
      <a class="brand" href="/app/">${t('app.name')}</a>
      <${LanguageSwitch} />
      ${onSignOut && html`<button type="button" class="link" onClick=${onSignOut}>${t('action.signOut')}</button>`}
    </header>
    ${nav}
    <main id="main">
      ${title && html`<h1>${title}</h1>`}
      ${children}
    </main>
  </div>`;
}

export function Tabs({ tabs, current, onSelect }) {
  return html`<nav class="tabs" aria-label=${t('nav.sections')}>
    ${tabs.map(
      (tab) => html`<button type="button" class=${tab.id === current ? 'tab tab-on' : 'tab'}
        aria-current=${tab.id === current ? 'page' : undefined} data-tab=${tab.id}
        onClick=${() => onSelect(tab.id)}>${tab.label}${tab.badge ? html` <span class="badge">${tab.badge}</span>` : ''}</button>`,
    )}
  </nav>`;
}

export function Field({ label, hint, type = 'text', value, onInput, required, autocomplete, inputmode, name, pattern, min, max }) {
  const id = useId('field');
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <input id=${id} name=${name} type=${type} value=${value} required=${required} autocomplete=${autocomplete}
      inputmode=${inputmode} pattern=${pattern} min=${min} max=${max}
      aria-describedby=${hint ? `${id}-hint` : undefined}
      onInput=${(event) => onInput(event.currentTarget.value)} />
    ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
  </div>`;
}

export function TextArea({ label, hint, value, onInput, required, minLength, maxLength }) {
  const id = useId('text');
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <textarea id=${id} required=${required} minLength=${minLength} maxLength=${maxLength} rows="3"
      aria-describedby=${hint ? `${id}-hint` : undefined}
      onInput=${(event) => onInput(event.currentTarget.value)}>${value}</textarea>
    ${hint && html`<p class="hint" id=${`${id}-hint`}>${hint}</p>`}
  </div>`;
}

export function Select({ label, value, onChange, options }) {
  const id = useId('select');
  return html`<div class="field">
    <label for=${id}>${label}</label>
    <select id=${id} value=${value} onChange=${(event) => onChange(event.currentTarget.value)}>
      ${options.map((option) => html`<option value=${option.value} selected=${option.value === value}>${option.label}</option>`)}
    </select>
  </div>`;
}

export function CheckList({ legend, options, chosen, onChange }) {
  return html`<fieldset class="checks">
    <legend>${legend}</legend>
    ${options.map((option) => {
      const on = chosen.includes(option.value);
      return html`<label class="check"><input type="checkbox" checked=${on} value=${option.value}
        onChange=${() => onChange(on ? chosen.filter((v) => v !== option.value) : [...chosen, option.value])} />
        <span>${option.label}</span></label>`;
    })}
  </fieldset>`;
}

export function Notice({ kind = 'info', children }) {
  if (!children) return null;
  return html`<p class=${`notice notice-${kind}`} role=${kind === 'error' ? 'alert' : 'status'}>${children}</p>`;
}

export function Button({ kind = 'primary', busy, children, ...rest }) {
  return html`<button class=${`button button-${kind}`} disabled=${busy} aria-busy=${busy ? 'true' : undefined} ...${rest}>${children}</button>`;
}

// Runs an async action with a busy flag and an error message for the screen.
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const run = async (action) => {
    setBusy(true);
    setError('');
    try {
      return await action();
    } catch (caught) {
      setError(caught.message || String(caught));
      return undefined;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, setError, run };
}
