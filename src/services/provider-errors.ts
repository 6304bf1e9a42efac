import { AppError, ERRORS } from '../errors.js';
import { ProviderError } from '../providers/provider.js';

/**
 * Turns a provider failure into what the user is told: whose fault it is and
 * what to do. Never includes credentials (provider messages never carry them).
 */
export function providerFailure(err: unknown): AppError {
  if (err instanceof AppError) return err;
  if (!(err instanceof ProviderError)) {
    return ERRORS.badGateway('The voice provider failed', {
      info: 'an unexpected error occurred; try again later',
      cause: err,
    });
  }
  switch (err.kind) {
    case 'sample':
      return ERRORS.unprocessable('The voice provider could not use this sample', {
        info: err.message,
        cause: err,
      });
    case 'request':
      return ERRORS.badRequest('The voice provider rejected the request', {
        info: err.message,
        cause: err,
      });
    case 'not_found':
      return ERRORS.notFound('The provider no longer has this voice', {
        info: err.message,
        cause: err,
      });
    case 'auth':
      return ERRORS.badGateway("The voice provider rejected this server's credentials", {
        info: 'the operator must check the provider API key and account',
        cause: err,
      });
    case 'quota':
      return ERRORS.unavailable("The voice provider's voice quota is full", {
        info: 'delete unused voices or ask the operator to raise the quota',
        cause: err,
      });
    case 'throttled':
      return ERRORS.unavailable('The voice provider is busy', {
        info: 'too many requests right now; try again shortly',
        headers: { 'retry-after': String(Math.max(1, Math.ceil(err.details.retryAfter ?? 30))) },
        cause: err,
      });
    case 'unavailable':
      return ERRORS.badGateway('The voice provider is unavailable', {
        info: 'the provider did not answer properly; try again later',
        cause: err,
      });
  }
}
