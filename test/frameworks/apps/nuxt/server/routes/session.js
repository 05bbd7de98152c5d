export default defineEventHandler(async (event) => {
  const session = await useSession(event, { password: 'porthole-matrix-session-password-of-32+-chars' });
  const count = (session.data.count ?? 0) + 1;
  await session.update({ count });
  setResponseHeader(event, 'content-type', 'text/html; charset=utf-8');
  return `<!doctype html><title>session</title><p id="count">${count}</p>`;
});
