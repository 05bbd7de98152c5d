export function selfSignedCertificate(options: { cert: string; key: string; names: string[]; days?: number }): void;
