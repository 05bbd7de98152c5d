export default defineEventHandler((event) => sendRedirect(event, new URL('/landed', getRequestURL(event)).href, 302));
