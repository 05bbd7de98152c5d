import { redirect } from '@sveltejs/kit';

export function GET({ url }) {
  redirect(302, new URL('/landed', url));
}
