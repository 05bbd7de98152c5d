/** Types for chromium.mjs, for the TypeScript tests that drive Chromium. */
export const CHROMIUM: string;
export const CHROMIUM_FLAGS: string[];
