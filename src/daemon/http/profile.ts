/**
 * POST /api/profile/cpu?seconds=N and POST /api/profile/heap: profiles of the daemon itself.
 * Unlike the other write endpoints these need the bearer token even on loopback, and are refused
 * when no token is set: a heap snapshot holds everything in memory, the token and keys included.
 */
import { timingSafeEqual } from 'node:crypto';
import { DEFAULT_CPU_PROFILE_S, MAX_CPU_PROFILE_S, type Profiler, ProfilerBusyError } from '../profiler.js';
import { type ApiRequest, type ApiResponse, HttpError } from './types.js';

export interface ProfileRoute {
  method: 'POST';
  pattern: RegExp;
  handler: (req: ApiRequest, query: URLSearchParams) => Promise<ApiResponse>;
}

export function profileRoutes(profiler: Profiler, token: string | undefined): ProfileRoute[] {
  const requireToken = (req: ApiRequest): void => {
    if (token === undefined)
      throw new HttpError(
        403,
        'PROFILING_DISABLED',
        'profiling needs api.token to be set (a heap snapshot exposes all memory); set it and restart',
      );
    const match = /^Bearer (.+)$/i.exec((req.headers.authorization ?? '').trim());
    const given = Buffer.from(match?.[1] ?? '');
    const want = Buffer.from(token);
    if (!match || given.length !== want.length || !timingSafeEqual(given, want))
      throw new HttpError(401, 'UNAUTHORIZED', 'profiling needs "authorization: Bearer <api.token>"', {
        'www-authenticate': 'Bearer realm="kadmium"',
      });
  };
  const capture = async (name: string, run: () => Promise<string>): Promise<ApiResponse> => {
    try {
      const body = await run();
      return {
        status: 200,
        headers: {
          'content-type': 'application/json',
          'cache-control': 'no-store',
          'content-disposition': `attachment; filename="${name}"`,
        },
        body,
      };
    } catch (err) {
      if (err instanceof ProfilerBusyError)
        throw new HttpError(429, err.code, err.message, { 'retry-after': '5' });
      throw err;
    }
  };
  return [
    {
      method: 'POST',
      pattern: /^\/api\/profile\/cpu$/,
      handler: async (req, query) => {
        requireToken(req);
        const text = query.get('seconds');
        const seconds = text === null ? DEFAULT_CPU_PROFILE_S : Number(text);
        if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_CPU_PROFILE_S)
          throw new HttpError(
            422,
            'INVALID_ARGUMENT',
            `seconds must be more than 0 and at most ${MAX_CPU_PROFILE_S}`,
          );
        return capture(`kadmium-${stamp()}.cpuprofile`, () => profiler.cpu(seconds));
      },
    },
    {
      method: 'POST',
      pattern: /^\/api\/profile\/heap$/,
      handler: async (req) => {
        requireToken(req);
        return capture(`kadmium-${stamp()}.heapsnapshot`, () => profiler.heap());
      },
    },
  ];
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}
