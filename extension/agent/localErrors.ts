/**
 * What went wrong on the way to the local server, for the people who see it: a sentence for the
 * visitor's error page, the request log and the CLI, and the RESET code the relay turns into a
 * status (502 unreachable, 504 timeout). The local server is named by its host, never by a stack.
 */
import type { ResetCode } from '../../core/protocol.js';
import { nothingListening } from './localAddress.js';

/** Why a request to the local server at `target` failed; `headersTimeoutMs` is how long it had to answer. */
export function explainLocalError(target: URL, error: Error, headersTimeoutMs: number): string {
  const code = errorCode(error);
  const where = target.host;
  switch (code) {
    case 'ECONNREFUSED':
      return nothingListening(target, error);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `The local host name in ${target.origin} does not resolve.`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return `The local server at ${where} closed the connection before answering.`;
    case 'UND_ERR_HEADERS_TIMEOUT':
      return `The local server at ${where} did not answer within ${headersTimeoutMs / 1000} s.`;
    case 'UND_ERR_INVALID_ARG':
    case 'UND_ERR_NOT_SUPPORTED':
      return cannotSend(error);
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return `The local server's TLS certificate is not trusted (${code}). Share with --insecure to accept a self-signed certificate.`;
    default:
      return `The request to the local server at ${where} failed: ${error.message}`;
  }
}

/**
 * The RESET code for a failed local request. Once the local server answered, or when the client
 * refused to send the request (a method, path or header it does not send), the local server is not
 * at fault: `internal`. Otherwise it was too slow (`timeout`) or could not be reached.
 */
export function resetCodeFor(error: Error, responded: boolean): ResetCode {
  const code = errorCode(error);
  if (responded || code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_NOT_SUPPORTED') return 'internal';
  return code === 'UND_ERR_HEADERS_TIMEOUT' ? 'timeout' : 'unreachable';
}

/** A request Node or undici would not build (a method, path or header it does not send). */
export function cannotSend(error: Error): string {
  return `The agent cannot send this request to the local server: ${error.message}`;
}

function errorCode(error: Error): string | undefined {
  const { code, cause } = error as Error & { code?: string; cause?: { code?: string } };
  return code ?? cause?.code;
}
