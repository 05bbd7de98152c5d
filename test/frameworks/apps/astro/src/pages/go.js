export const prerender = false;

export function GET({ url, redirect }) {
  return redirect(new URL('/landed', url).href, 302);
}
