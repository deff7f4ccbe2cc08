// The patient's own records: fetched from the hospitals they linked through the consent manager
// and opened here. This page makes a Fidelius key pair for each fetch (fidelius.js) and sends the
// public half; the hospitals encrypt every page for it, the consent manager relays ciphertext
// it cannot read, and the private key and the opened records live only in this page's memory
// (a sign-out or a reload drops them; nothing is written to browser storage).
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, post } from './api.js';
import { FideliusError, decrypt, generateKeyMaterial } from './fidelius.js';
import { formatDateTime, t } from './i18n.js';
import { RecordsView } from './records.js';
import { Button, Notice, html } from './ui.js';

const KEY_LIFETIME_MS = 60 * 60 * 1000;
const POLL_MS = 1500;
const GIVE_UP_MS = 3 * 60 * 1000;

const finished = (transfer) => ['TRANSFERRED', 'FAILED'].includes(transfer.status);

// The fetch's state, kept by the signed-in home so that it survives switching tabs and the
// download can include the records: { request, documents, unreadable, busy, error, timedOut }.
export function useOwnRecords() {
  const [state, setState] = useState({ request: null, documents: [], unreadable: 0, busy: false, error: '', timedOut: false });
  const run = useRef(0);
  useEffect(() => () => { run.current += 1; }, []);

  const start = async () => {
    const mine = ++run.current;
    const current = () => run.current === mine;
    const key = generateKeyMaterial();
    setState({ request: null, documents: [], unreadable: 0, busy: true, error: '', timedOut: false });
    let request;
    try {
      request = await post('/cm/v1/patients/me/records-requests', {
        keyMaterial: {
          cryptoAlg: 'ECDH',
          curve: 'Curve25519',
          dhPublicKey: { expiry: new Date(Date.now() + KEY_LIFETIME_MS).toISOString(), parameters: 'Curve25519/32byte random key', keyValue: key.publicKey },
          nonce: key.nonce,
        },
      });
    } catch (caught) {
      if (current()) setState((s) => ({ ...s, busy: false, error: caught.message }));
      return;
    }
    const opened = new Set();
    const documents = [];
    let unreadable = 0;
    const began = Date.now();
    while (current()) {
      for (const transfer of request.transfers) {
        for (const number of transfer.pages || []) {
          const name = `${transfer.transactionId}/${number}`;
          if (opened.has(name)) continue;
          opened.add(name);
          const page = await get(`/cm/v1/patients/me/records-requests/${request.id}/transfers/${transfer.transactionId}/pages/${number}`);
          for (const entry of page.entries || []) {
            try {
              const text = await decrypt(key, page.keyMaterial.dhPublicKey.keyValue, page.keyMaterial.nonce, entry.content);
              documents.push({ careContextReference: entry.careContextReference, hip: transfer.hip, bundle: JSON.parse(text) });
            } catch (caught) {
              if (!(caught instanceof FideliusError) && !(caught instanceof SyntaxError)) throw caught;
              unreadable += 1;
            }
          }
        }
      }
      if (!current()) return;
      const done = request.transfers.every((tr) => finished(tr) && (tr.pages || []).length >= (tr.status === 'TRANSFERRED' ? tr.pageCount : 0));
      const timedOut = !done && Date.now() - began > GIVE_UP_MS;
      setState({ request, documents: [...documents], unreadable, busy: !done && !timedOut, error: '', timedOut });
      if (done || timedOut) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (!current()) return;
      try {
        request = await get(`/cm/v1/patients/me/records-requests/${request.id}`);
      } catch (caught) {
        if (current()) setState((s) => ({ ...s, busy: false, error: caught.message }));
        return;
      }
    }
  };
  return { ...state, start };
}

function TransferLine({ transfer }) {
  const received = (transfer.pages || []).length;
  const words = {
    REQUESTED: t('own.status.asked'),
    ACKNOWLEDGED: t('own.status.sending', { received, count: transfer.pageCount || '…' }),
    TRANSFERRED: t('own.status.received', { count: received }),
    FAILED: t('own.status.failed'),
  }[transfer.status] || transfer.status;
  return html`<li class=${`transfer status-${transfer.status}`} data-hip=${transfer.hip.id}>
    <strong>${transfer.hip.name || transfer.hip.id}</strong>: ${words}
    ${transfer.status === 'FAILED' && transfer.detail && html` <span class="small">(${transfer.detail})</span>`}
  </li>`;
}

export function OwnRecords({ links, records }) {
  const { request, documents, unreadable, busy, error, timedOut, start } = records;
  if (!links.length) {
    return html`<section class="own-records"><h2>${t('own.title')}</h2><p class="empty">${t('own.noHospitals')}</p></section>`;
  }
  return html`<section class="own-records" aria-labelledby="own-title">
    <h2 id="own-title">${t('own.title')}</h2>
    <p>${t('own.explain', { hospitals: links.map((l) => l.hip.name || l.hip.id).join(', ') })}</p>
    <${Button} busy=${busy} onClick=${start}>${request ? t('own.again') : t('own.fetch')}<//>
    <${Notice} kind="error">${error}<//>
    ${request && html`<p class="small">${t('own.kept', { date: formatDateTime(request.eraseAt) })}</p>
      <ul class="transfers">${request.transfers.map((transfer) => html`<${TransferLine} transfer=${transfer} />`)}</ul>`}
    ${busy && html`<p role="status">${t('own.waiting')}</p>`}
    ${timedOut && html`<${Notice} kind="warning">${t('own.timedOut')}<//>`}
    ${unreadable > 0 && html`<${Notice} kind="warning">${t('own.unreadable', { count: unreadable })}<//>`}
    ${request && html`<${RecordsView} documents=${documents} />`}
  </section>`;
}
