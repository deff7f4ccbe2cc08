// Translations: one JSON file per language in locales/ (its "_language" names it in itself);
// adding a language is adding a file. A key missing from a language falls back to English.
import { signal } from './state.js';

const files = import.meta.glob('./locales/*.json', { eager: true, import: 'default' });
const catalogues = {};
for (const [path, messages] of Object.entries(files)) {
  catalogues[path.match(/([\w-]+)\.json$/)[1]] = messages;
}

export const languages = Object.keys(catalogues)
  .sort((a, b) => (a === 'en' ? -1 : b === 'en' ? 1 : a.localeCompare(b)))
  .map((code) => ({ code, name: catalogues[code]._language || code }));

const LANGUAGE_KEY = 'kavach.language';
function initialLanguage() {
  try {
    const saved = localStorage.getItem(LANGUAGE_KEY);
    if (saved && catalogues[saved]) return saved;
  } catch {
    /* storage may be off */
  }
  return 'en';
}

export const language = signal(initialLanguage());

export function setLanguage(code) {
  if (!catalogues[code]) return;
  // Only the choice of language is kept in the browser, never anything about a patient.
  try {
    localStorage.setItem(LANGUAGE_KEY, code);
  } catch {
    /* storage may be off */
  }
  document.documentElement.lang = code;
  language.set(code);
}
document.documentElement.lang = language.get();

export function t(key, params) {
  const text = catalogues[language.get()]?.[key] ?? catalogues.en[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (params[name] ?? whole).toString());
}

// Dates and times in the reader's language, in India's time zone.
export function formatDate(value) {
  if (!value) return '';
  return new Date(value).toLocaleDateString(language.get() === 'en' ? 'en-IN' : `${language.get()}-IN`, {
    day: 'numeric', month: 'short', year: 'numeric', timeZone: 'Asia/Kolkata',
  });
}

export function formatDateTime(value) {
  if (!value) return '';
  return new Date(value).toLocaleString(language.get() === 'en' ? 'en-IN' : `${language.get()}-IN`, {
    day: 'numeric', month: 'short', year: 'numeric', hour: 'numeric', minute: '2-digit', timeZone: 'Asia/Kolkata',
  });
}

// A list in words: "A, B and C".
export function listInWords(items) {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${t('word.and')} ${items[items.length - 1]}`;
}
