/** A DNS label as a tunnel name must be: lowercase letters, digits and inner hyphens, at most 63 characters. */
export const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
