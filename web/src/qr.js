// A QR code drawn as SVG rectangles (no inline images or script, so the strict CSP holds).
import qrcode from 'qrcode-generator';
import { html } from './ui.js';

export function QrCode({ text, label, size = 180 }) {
  const code = qrcode(0, 'M');
  code.addData(text);
  code.make();
  const count = code.getModuleCount();
  const cells = [];
  for (let row = 0; row < count; row += 1) {
    for (let col = 0; col < count; col += 1) {
      if (code.isDark(row, col)) cells.push(`M${col + 4},${row + 4}h1v1h-1z`);
    }
  }
  const extent = count + 8;
  return html`<svg class="qr" role="img" aria-label=${label} width=${size} height=${size}
    viewBox=${`0 0 ${extent} ${extent}`} shape-rendering="crispEdges">
    <rect width=${extent} height=${extent} fill="#fff" />
    <path d=${cells.join('')} fill="#000" />
  </svg>`;
}
