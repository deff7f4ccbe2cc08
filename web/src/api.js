// Every call the app makes to its node. The session lives in an HttpOnly cookie that this script
// never sees; what it holds is the CSRF token the node bound to that cookie, sent on every call
// that changes something. Answers stay in memory only: nothing is written to browser storage.

import { t } from './i18n.js';

let csrfToken = null;

export function setCsrfToken(token) {
  csrfToken = token;
}

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// The message of a FHIR OperationOutcome, an ABDM error or an OAuth error.
function messageOf(body) {
  if (!body || typeof body !== 'object') return '';
  const issue = body.issue && body.issue[0];
  if (issue) return issue.diagnostics || (issue.details && issue.details.text) || issue.code || '';
  if (body.error && typeof body.error === 'object') return body.error.message || '';
  return body.error_description || '';
}

export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    // fetch rejects only when no answer came at all (the node restarting, the network down); the
    // browser's own words for that ("Failed to fetch") tell a patient nothing.
    throw new ApiError(0, t('app.unreachable'));
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, messageOf(data) || response.statusText);
  return data;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body ?? {});
export const put = (path, body) => api('PUT', path, body ?? {});
export const del = (path) => api('DELETE', path);
