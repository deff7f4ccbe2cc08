// Hospital IT at a glance: the node's health, its last backup and verification, the audit log's
// checkpoint and witnesses, open alerts and locked principals (with release), storage and keys.
import { useEffect, useState } from 'preact/hooks';
import { get, post } from './api.js';
import { formatDateTime, t } from './i18n.js';
import { Button, Notice, Page, html, useAction } from './ui.js';

function bytes(count) {
  if (count === undefined || count === null) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit ? 1 : 0)} ${units[unit]}`;
}

// A client by the name IT registered it under, with its id.
const who = (item) => (item.principalName ? `${item.principalName} (${item.principal})` : item.principal);

function Tile({ title, state, children, id }) {
  return html`<section class=${`tile tile-${state}`} aria-labelledby=${id} data-tile=${id}>
    <h2 id=${id}><span class="dot-state" aria-hidden="true"></span>${title}
      <span class="visually-hidden"> (${t(`it.state.${state}`)})</span></h2>
    ${children}
  </section>`;
}

export function ItHome({ onSignOut, nav }) {
  const [status, setStatus] = useState(null);
  const [alerts, setAlerts] = useState([]);
  const [locks, setLocks] = useState([]);
  const { busy, error, run } = useAction();
  const load = () =>
    run(async () => {
      const [s, a, l] = await Promise.all([get('/admin/status'), get('/admin/alerts'), get('/admin/locks')]);
      setStatus(s);
      setAlerts(a.alerts || []);
      setLocks(l.locks || []);
    });
  useEffect(() => {
    load();
    const timer = setInterval(load, 10000);
    return () => clearInterval(timer);
  }, []);
  const release = (principal) => run(async () => { await post(`/admin/locks/${encodeURIComponent(principal)}/release`); await load(); });
  if (!status) return html`<${Page} onSignOut=${onSignOut} nav=${nav} title=${t('it.title')}><p>${t('app.loading')}</p><${Notice} kind="error">${error}<//><//>`;
  const backup = status.backup || {};
  const verification = backup.lastVerification;
  const freeShare = status.storage?.totalBytes ? status.storage.freeBytes / status.storage.totalBytes : 1;
  return html`<${Page} onSignOut=${onSignOut} nav=${nav} title=${t('it.title')}>
    <${Notice} kind="error">${error}<//>
    <div class="tiles">
      <${Tile} id="node" title=${t('it.node')} state=${status.node.ready ? 'ok' : 'bad'}>
        <p>${status.node.ready ? t('it.ready') : t('it.notReady', { reason: status.node.reason || '' })}</p>
        <p class="small">${t('it.roles')}: ${status.node.roles.join(', ')} · ${t('it.store')}: ${status.node.store}${status.node.readOnly ? ` · ${t('it.readOnly')}` : ''}</p>
        <p class="small">${t('it.since', { date: formatDateTime(status.node.startedAt) })}</p>
      <//>
      <${Tile} id="backup" title=${t('it.backup')} state=${!backup.lastSnapshotAt ? 'bad' : verification && !verification.ok ? 'bad' : backup.stale ? 'warn' : 'ok'}>
        <p>${backup.lastSnapshotAt ? t('it.lastBackup', { date: formatDateTime(backup.lastSnapshotAt) }) : t('it.noBackup')}</p>
        <p>${verification ? t(verification.ok ? 'it.verifiedOk' : 'it.verifiedBad', { date: formatDateTime(verification.at), detail: verification.detail || '' }) : t('it.noVerification')}</p>
      <//>
      <${Tile} id="audit" title=${t('it.audit')} state=${status.audit.treeSize > 0 ? (status.audit.witnesses.length && !status.audit.cosigned ? 'warn' : 'ok') : 'warn'}>
        <p>${t('it.checkpoint', { size: status.audit.treeSize })}</p>
        <p class="small">${status.audit.witnesses.length ? t(status.audit.cosigned ? 'it.witnessed' : 'it.notWitnessed', { count: status.audit.witnesses.length }) : t('it.noWitness')}</p>
      <//>
      <${Tile} id="alerts" title=${t('it.alerts')} state=${locks.length ? 'bad' : alerts.length ? 'warn' : 'ok'}>
        ${!alerts.length && html`<p>${t('it.noAlerts')}</p>`}
        <ul class="plain">${alerts.slice(0, 20).map((alert) => html`<li><strong>${alert.rule}</strong> · ${who(alert)} · ${formatDateTime(alert.at)}<br /><span class="small">${alert.detail}</span></li>`)}</ul>
        <h3>${t('it.locks')}</h3>
        ${!locks.length && html`<p>${t('it.noLocks')}</p>`}
        <ul class="plain">${locks.map((lock) => html`<li data-lock=${lock.principal}>${who(lock)} · ${formatDateTime(lock.locked_at)}
          <${Button} kind="secondary" busy=${busy} onClick=${() => release(lock.principal)}>${t('it.release')}<//></li>`)}</ul>
      <//>
      <${Tile} id="storage" title=${t('it.storage')} state=${freeShare < 0.05 ? 'bad' : freeShare < 0.15 ? 'warn' : 'ok'}>
        <p>${t('it.free', { free: bytes(status.storage.freeBytes), total: bytes(status.storage.totalBytes) })}</p>
        <p class="small">${t('it.keys', { count: status.keys.keyEncryptionKeys, active: status.keys.activeKek })}</p>
      <//>
    </div>
  <//>`;
}
