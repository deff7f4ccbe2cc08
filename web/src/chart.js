// A small line chart of one measurement over time, drawn as SVG, with a table of the same
// values for screen readers and for reading exact numbers.
import { html } from './ui.js';
import { formatDate, t } from './i18n.js';

export function TrendChart({ title, unit, points }) {
  const sorted = [...points].sort((a, b) => a.time - b.time);
  const width = 320;
  const height = 140;
  const pad = 28;
  const values = sorted.map((p) => p.value);
  const low = Math.min(...values);
  const high = Math.max(...values);
  const span = high - low || 1;
  const first = sorted[0]?.time ?? 0;
  const last = sorted[sorted.length - 1]?.time ?? 1;
  const x = (time) => pad + ((time - first) / (last - first || 1)) * (width - 2 * pad);
  const y = (value) => height - pad - ((value - low) / span) * (height - 2 * pad);
  const line = sorted.map((p, i) => `${i ? 'L' : 'M'}${x(p.time).toFixed(1)},${y(p.value).toFixed(1)}`).join('');
  return html`<figure class="chart">
    <figcaption>${title}${unit ? ` (${unit})` : ''}</figcaption>
    ${sorted.length > 1 &&
    html`<svg viewBox=${`0 0 ${width} ${height}`} role="img" aria-hidden="true" class="chart-svg">
      <line x1=${pad} y1=${height - pad} x2=${width - pad} y2=${height - pad} class="axis" />
      <text x=${pad} y=${y(high) - 6} class="label">${high}</text>
      <text x=${pad} y=${height - 8} class="label">${formatDate(first)}</text>
      <text x=${width - pad} y=${height - 8} class="label end">${formatDate(last)}</text>
      <path d=${line} class="trend" />
      ${sorted.map((p) => html`<circle cx=${x(p.time)} cy=${y(p.value)} r="3" class="dot" />`)}
    </svg>`}
    <table class="values">
      <caption class="visually-hidden">${title}</caption>
      <thead><tr><th scope="col">${t('records.date')}</th><th scope="col">${t('records.value')}</th></tr></thead>
      <tbody>${sorted.map((p) => html`<tr><td>${formatDate(p.time)}</td><td>${p.value} ${unit}</td></tr>`)}</tbody>
    </table>
  </figure>`;
}
