/** Types for tools.mjs, for the TypeScript tests that reuse the page benchmark's tool cache. */
export const CACHE: string;
export const PACKAGES: Record<string, string>;
export function installedVersion(name: string): string | undefined;
export function ensureTools(say: (text: string) => void): void;
export function requireTool(name: string): unknown;
