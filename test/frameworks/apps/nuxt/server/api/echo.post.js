export default defineEventHandler(async (event) => {
  const { message } = await readBody(event);
  setResponseHeader(event, 'content-type', 'text/html; charset=utf-8');
  return `<!doctype html><title>form</title><p id="result">got: ${escapeHtml(String(message))}</p>`;
});

function escapeHtml(text) {
  return text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
