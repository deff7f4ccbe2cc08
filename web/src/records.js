// Received FHIR document Bundles shown to a clinician: a summary first, then the records by visit
// and by type, lab results as tables and measurements over time as charts.
import { html } from './ui.js';
import { TrendChart } from './chart.js';
import { formatDate, formatDateTime, t } from './i18n.js';

const text = (concept) =>
  concept ? concept.text || concept.coding?.map((c) => c.display || c.code).find(Boolean) || '' : '';

function clinicalDate(resource) {
  return (
    resource.effectiveDateTime || resource.effectivePeriod?.start || resource.authoredOn || resource.issued ||
    resource.occurrenceDateTime || resource.performedDateTime || resource.recordedDate || resource.onsetDateTime ||
    resource.period?.start || resource.date || ''
  );
}

function category(resource) {
  const codes = (resource.category || []).flatMap((c) => (c.coding || []).map((coding) => coding.code));
  if (resource.resourceType === 'Observation') {
    if (codes.includes('vital-signs')) return 'vitals';
    if (codes.includes('laboratory')) return 'lab';
    return 'observation';
  }
  return {
    MedicationRequest: 'medication', Condition: 'condition', DiagnosticReport: 'report', Immunization: 'immunization',
    AllergyIntolerance: 'allergy', Procedure: 'procedure', DocumentReference: 'document', Encounter: 'visit',
  }[resource.resourceType] || 'other';
}

function quantity(resource) {
  const q = resource.valueQuantity;
  if (q && typeof q.value === 'number') return { value: q.value, unit: q.unit || q.code || '' };
  return null;
}

function valueText(resource) {
  const q = quantity(resource);
  if (q) return `${q.value} ${q.unit}`.trim();
  return resource.valueString || text(resource.valueCodeableConcept) || '';
}

function describe(resource) {
  switch (resource.resourceType) {
    case 'MedicationRequest': {
      const dose = resource.dosageInstruction?.[0]?.text;
      return [text(resource.medicationCodeableConcept) || resource.medicationReference?.display || '', dose].filter(Boolean).join(' — ');
    }
    case 'Immunization':
      return text(resource.vaccineCode);
    case 'Encounter': {
      const kind = resource.class?.code;
      return text(resource.type?.[0]) || (['AMB', 'IMP', 'EMER'].includes(kind) ? t(`records.encounter.${kind}`) : resource.class?.display || kind || '');
    }
    case 'DocumentReference':
      return resource.description || text(resource.type);
    default:
      return [text(resource.code), valueText(resource)].filter(Boolean).join(': ');
  }
}

// Every clinical resource in the documents, once each, with the visit it belongs to.
export function collectRecords(documents) {
  const seen = new Map();
  for (const document of documents) {
    for (const entry of document.bundle?.entry || []) {
      const resource = entry.resource;
      if (!resource || ['Composition', 'Patient', 'Practitioner', 'Organization'].includes(resource.resourceType)) continue;
      const key = `${resource.resourceType}/${resource.id}`;
      if (seen.has(key)) continue;
      const visit = resource.encounter?.reference?.split('/').pop() || (resource.resourceType === 'Encounter' ? resource.id : '') || document.careContextReference;
      seen.set(key, { resource, visit, kind: category(resource), date: clinicalDate(resource), label: describe(resource) });
    }
  }
  return [...seen.values()].sort((a, b) => (b.date || '').localeCompare(a.date || ''));
}

export function patientOf(documents) {
  for (const document of documents) {
    for (const entry of document.bundle?.entry || []) {
      if (entry.resource?.resourceType === 'Patient') return entry.resource;
    }
  }
  return null;
}

function LabTable({ items }) {
  return html`<table class="lab">
    <caption>${t('records.kind.lab')}</caption>
    <thead><tr><th scope="col">${t('records.test')}</th><th scope="col">${t('records.result')}</th><th scope="col">${t('records.range')}</th><th scope="col">${t('records.date')}</th></tr></thead>
    <tbody>
      ${items.map(({ resource, date }) => {
        const range = resource.referenceRange?.[0];
        const rangeText = range ? [range.low?.value, range.high?.value].filter((v) => v !== undefined).join('–') : '';
        return html`<tr><th scope="row">${text(resource.code)}</th><td>${valueText(resource)}</td><td>${rangeText}</td><td>${formatDate(date)}</td></tr>`;
      })}
    </tbody>
  </table>`;
}

// Charts of every measurement taken more than once (lab trends and vitals).
function Trends({ items }) {
  const series = new Map();
  for (const { resource, date } of items) {
    const q = quantity(resource);
    if (!q || !date) continue;
    const name = text(resource.code);
    if (!series.has(name)) series.set(name, { unit: q.unit, points: [] });
    series.get(name).points.push({ time: Date.parse(date), value: q.value });
  }
  const charts = [...series.entries()].filter(([, s]) => s.points.length > 1);
  if (!charts.length) return null;
  return html`<section class="trends"><h3>${t('records.trends')}</h3>
    ${charts.map(([name, s]) => html`<${TrendChart} title=${name} unit=${s.unit} points=${s.points} />`)}
  </section>`;
}

const KIND_ORDER = ['condition', 'medication', 'lab', 'vitals', 'report', 'immunization', 'allergy', 'procedure', 'document', 'visit', 'observation', 'other'];

export function RecordsView({ documents }) {
  const records = collectRecords(documents);
  if (!records.length) return html`<p class="empty">${t('records.none')}</p>`;
  const patient = patientOf(documents);
  const byKind = new Map(KIND_ORDER.map((kind) => [kind, []]));
  for (const record of records) byKind.get(record.kind).push(record);
  const byVisit = new Map();
  for (const record of records) {
    if (!byVisit.has(record.visit)) byVisit.set(record.visit, []);
    byVisit.get(record.visit).push(record);
  }
  const name = patient?.name?.[0] ? [patient.name[0].given?.join(' '), patient.name[0].family].filter(Boolean).join(' ') : '';
  return html`<div class="records">
    <section class="summary" aria-labelledby="summary-title">
      <h2 id="summary-title">${t('records.summary')}</h2>
      ${name && html`<p class="patient-line"><strong>${name}</strong>${patient.gender ? ` · ${t(`gender.${patient.gender}`)}` : ''}${patient.birthDate ? ` · ${formatDate(patient.birthDate)}` : ''}</p>`}
      <ul class="counts">
        ${KIND_ORDER.filter((kind) => byKind.get(kind).length).map(
          (kind) => html`<li data-kind=${kind}><span class="count">${byKind.get(kind).length}</span> ${t(`records.kind.${kind}`)}</li>`,
        )}
      </ul>
      ${byKind.get('condition').length > 0 && html`<p><strong>${t('records.kind.condition')}:</strong> ${byKind.get('condition').map((r) => r.label).join(', ')}</p>`}
      ${byKind.get('medication').length > 0 && html`<p><strong>${t('records.kind.medication')}:</strong> ${byKind.get('medication').map((r) => r.label).join(', ')}</p>`}
    </section>
    <${Trends} items=${[...byKind.get('lab'), ...byKind.get('vitals')]} />
    ${byKind.get('lab').length > 0 && html`<${LabTable} items=${byKind.get('lab')} />`}
    <section><h2>${t('records.byType')}</h2>
      ${KIND_ORDER.filter((kind) => kind !== 'lab' && byKind.get(kind).length).map(
        (kind) => html`<details class="group" open>
          <summary>${t(`records.kind.${kind}`)} (${byKind.get(kind).length})</summary>
          <ul class="items">${byKind.get(kind).map((r) => html`<li class="record" data-id=${`${r.resource.resourceType}/${r.resource.id}`}><span>${r.label || r.resource.resourceType}</span> <time>${formatDate(r.date)}</time></li>`)}</ul>
        </details>`,
      )}
    </section>
    <section><h2>${t('records.byVisit')}</h2>
      ${[...byVisit.entries()].map(
        ([visit, items]) => html`<details class="group">
          <summary>${t('records.visit', { date: formatDateTime(items.find((r) => r.kind === 'visit')?.date || items[items.length - 1].date) })}</summary>
          <ul class="items">${items.map((r) => html`<li>${t(`records.kind.${r.kind}`)}: ${r.label} <time>${formatDate(r.date)}</time></li>`)}</ul>
        </details>`,
      )}
    </section>
  </div>`;
}
