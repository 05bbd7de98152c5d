export function ensureDebianPackages(packages: string[], probes?: Record<string, string>): void;
