import { describe, expect, it } from 'vitest';
import { mapError } from '../../../src/api/plugins/error-handler.js';

describe('mapError', () => {
  it("reads a client gone in the middle of its body as the client's 400, not a database outage", () => {
    // What Node gives a body parser when the client closes the connection.
    const aborted = Object.assign(new Error('aborted'), { code: 'ECONNRESET', statusCode: 400 });
    const mapped = mapError(aborted, 'req-1');
    expect(mapped.status).toBe(400);
    expect(mapped.body).not.toHaveProperty('request_id');
  });

  it('still reads a lost database connection as 503 with Retry-After', () => {
    const lost = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const mapped = mapError(lost, 'req-2', 7);
    expect(mapped.status).toBe(503);
    expect(mapped.headers).toEqual({ 'retry-after': '7' });
  });
});
