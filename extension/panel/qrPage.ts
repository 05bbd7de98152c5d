/**
 * The QR code of a share's URL as a page: drawn as SVG by `qrcode` (the widely used encoder; its
 * SVG is paths only), shown as an image from a data: URL in a page that runs no script at all.
 */
import QRCode from 'qrcode';
import { escapeHtml } from '../../core/text.js';

/** The SVG of a QR code for `text` (medium error correction, a quiet zone of two modules). */
export function qrSvg(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2, color: { dark: '#000000', light: '#ffffff' } });
}

/** The page: no script, images only as data: URLs, styles only with the nonce. */
export function renderQrPage(options: { url: string; svg: string; nonce: string; local: boolean; privateLink?: boolean }): string {
  const nonce = escapeHtml(options.nonce);
  const image = `data:image/svg+xml;base64,${Buffer.from(options.svg).toString('base64')}`;
  const hint = [
    options.local
      ? 'This URL works on this machine only (the embedded relay): a phone needs a relay it can reach (porthole.relayUrl).'
      : 'Scan it with a phone’s camera to open the share there.',
    options.privateLink ? 'It is the private link: whoever scans it can open the share.' : '',
  ]
    .filter(Boolean)
    .join(' ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'nonce-${nonce}'">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>QR code</title>
<style nonce="${nonce}">
body { display: flex; flex-direction: column; align-items: center; gap: 12px; padding: 24px; color: var(--vscode-foreground);
  font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); }
img { width: 256px; height: 256px; image-rendering: pixelated; }
.url { font-family: var(--vscode-editor-font-family); user-select: all; word-break: break-all; text-align: center; }
.hint { color: var(--vscode-descriptionForeground); max-width: 32em; text-align: center; }
</style>
</head>
<body>
<img id="qr" src="${image}" alt="QR code of ${escapeHtml(options.url)}">
<p class="url" id="url">${escapeHtml(options.url)}</p>
<p class="hint">${escapeHtml(hint)}</p>
</body>
</html>`;
}
