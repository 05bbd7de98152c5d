import { cookies } from 'next/headers';

export const dynamic = 'force-dynamic';
const counts = new Map();

export async function GET() {
  const jar = await cookies();
  const sid = jar.get('sid')?.value ?? crypto.randomUUID();
  const count = (counts.get(sid) ?? 0) + 1;
  counts.set(sid, count);
  jar.set('sid', sid, { path: '/', httpOnly: true, sameSite: 'lax' });
  return new Response(`<!doctype html><title>session</title><p id="count">${count}</p>`, {
    headers: { 'content-type': 'text/html; charset=utf-8' },
  });
}
