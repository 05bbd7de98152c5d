const counts = new Map();

export function load({ cookies }) {
  const sid = cookies.get('sid') ?? crypto.randomUUID();
  const count = (counts.get(sid) ?? 0) + 1;
  counts.set(sid, count);
  cookies.set('sid', sid, { path: '/', httpOnly: true, sameSite: 'lax' });
  return { count };
}
