/**
 * How the universal tests load the optional packages: from node_modules as a user would, or, when
 * KADMIUM_OPTIONAL_MODULES names a folder with its own node_modules (an install of the optional
 * packages outside this tree), through a loader module in that folder, so import() resolves there.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type ImportModule, defaultImport } from '../../src/universal/load.js';

export async function optionalImport(probe: string): Promise<{ importModule: ImportModule }> {
  try {
    await import(probe);
    return { importModule: defaultImport };
  } catch (err) {
    const dir = process.env.KADMIUM_OPTIONAL_MODULES;
    if (dir && existsSync(join(dir, 'node_modules'))) {
      const loader = join(dir, 'kadmium-loader.mjs');
      if (!existsSync(loader)) writeFileSync(loader, 'export default (s) => import(s);\n');
      const mod = (await import(pathToFileURL(loader).href)) as { default: ImportModule };
      await mod.default(probe);
      return { importModule: mod.default };
    }
    // A missing package fails the suite, loudly: npm ci installs the optional dependencies.
    throw new Error(
      `${probe} is not installed (${(err as Error).message.split('\n')[0]}); run npm ci, or set KADMIUM_OPTIONAL_MODULES`,
    );
  }
}

/**
 * Start several testnets at once, keeping every one that started in `into` (for `after` to
 * destroy) even when another fails; then rethrow the first failure.
 */
export async function startAll<T extends readonly { destroy(): Promise<void> }[]>(
  into: { destroy(): Promise<void> }[],
  starts: { [K in keyof T]: Promise<T[K]> },
): Promise<T> {
  const settled = await Promise.allSettled(starts as readonly Promise<{ destroy(): Promise<void> }>[]);
  for (const s of settled) if (s.status === 'fulfilled') into.push(s.value);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}
