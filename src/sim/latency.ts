/**
 * One-way internet latency. Each endpoint gets a site: a place on the globe and an access link
 * (home broadband, mobile, a data centre). A datagram's delay is
 *
 *   access(a) + access(b) + path(great-circle distance) + queueing jitter
 *
 * Access delays are log-normal (median a few ms, a long tail for congested and mobile links),
 * the path grows with distance (light in fibre, with routing detours), and jitter is exponential
 * per datagram. With the defaults the median one-way delay is about 50 ms, p99 well above 100 ms.
 */
import type { Random } from '../util/random.js';
import { exponential, logNormal } from './distributions.js';

export interface Site {
  /** Latitude and longitude in radians. */
  readonly lat: number;
  readonly lon: number;
  /** This endpoint's access-link delay, ms. */
  readonly accessMs: number;
}

export interface LatencyModel {
  /** Place a new endpoint. */
  site(random: Random): Site;
  /** Delay for one datagram from a to b, ms. */
  oneWayMs(a: Site, b: Site, random: Random): number;
}

export interface InternetLatencyOptions {
  /** Median access-link delay per endpoint, ms. */
  accessMedianMs: number;
  /** Log-normal shape of access delays (0.8: p99 about 6.4x the median). */
  accessSigma: number;
  /** Path delay between antipodes, ms (half the globe at ~2/3 c plus detours). */
  antipodalMs: number;
  /** Mean per-datagram queueing jitter, ms. */
  jitterMeanMs: number;
}

export const INTERNET_LATENCY: InternetLatencyOptions = {
  accessMedianMs: 5,
  accessSigma: 0.8,
  antipodalMs: 80,
  jitterMeanMs: 2,
};

export function internetLatency(options: Partial<InternetLatencyOptions> = {}): LatencyModel {
  const o = { ...INTERNET_LATENCY, ...options };
  return {
    site(random) {
      // Uniform on the sphere.
      const lat = Math.asin(2 * random.float() - 1);
      const lon = (2 * random.float() - 1) * Math.PI;
      return { lat, lon, accessMs: logNormal(random, o.accessMedianMs, o.accessSigma) };
    },
    oneWayMs(a, b, random) {
      const angle = greatCircle(a, b);
      return (
        a.accessMs + b.accessMs + (angle / Math.PI) * o.antipodalMs + exponential(random, o.jitterMeanMs)
      );
    },
  };
}

/** Every datagram takes exactly `ms` (for tests that need exact timing). */
export function constantLatency(ms: number): LatencyModel {
  return {
    site: () => ({ lat: 0, lon: 0, accessMs: 0 }),
    oneWayMs: () => ms,
  };
}

/** Central angle between two sites, radians (haversine). */
export function greatCircle(a: Site, b: Site): number {
  const dLat = b.lat - a.lat;
  const dLon = b.lon - a.lon;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat) * Math.cos(b.lat) * Math.sin(dLon / 2) ** 2;
  return 2 * Math.asin(Math.min(1, Math.sqrt(h)));
}
