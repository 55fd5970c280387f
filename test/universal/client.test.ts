import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UniversalClient } from '../../src/universal/client.js';
import { mergeSources } from '../../src/universal/merge.js';
import { polyfillWithResolvers } from '../../src/universal/load.js';

describe('universal client without networks', () => {
  it('names the missing package with ADAPTER_UNAVAILABLE and starts nothing', async () => {
    const asked: string[] = [];
    const importModule = async (s: string): Promise<unknown> => {
      asked.push(s);
      throw new Error(`Cannot find package '${s}'`);
    };
    await assert.rejects(UniversalClient.create({ hyperswarm: { bootstrap: [] }, importModule }), {
      code: 'ADAPTER_UNAVAILABLE',
      message: /hyperswarm adapter needs hyperdht.*optional dependencies/,
    });
    await assert.rejects(UniversalClient.create({ ipfs: { bootstrap: [] }, importModule }), {
      code: 'ADAPTER_UNAVAILABLE',
      message: /libp2p/,
    });
    assert.ok(asked.includes('hyperdht') && asked.includes('libp2p'));
  });

  it('loads no optional package when only Mainline is configured', async () => {
    const asked: string[] = [];
    const client = await UniversalClient.create({
      mainline: {},
      importModule: async (s) => {
        asked.push(s);
        return import(s);
      },
    });
    try {
      assert.deepEqual(client.networks, ['mainline']);
      assert.deepEqual(asked, []);
      assert.throws(() => client.findNode(new Uint8Array(32)), { code: 'UNSUPPORTED' });
      assert.throws(() => client.getRecord({ publicKey: new Uint8Array(32) }, { networks: ['overlay'] }), {
        code: 'NOT_CONFIGURED',
        message: /pass a "overlay" section/,
      });
      assert.throws(() => client.findPeers(new Uint8Array(3)), { code: 'INVALID_ARGUMENT' });
    } finally {
      await client.close();
    }
  });
});

describe('mergeSources', () => {
  it('interleaves sources as they yield, turns a failure into an event, and stops the rest on return', async () => {
    let stopped = 0;
    const slow = async function* (signal: AbortSignal): AsyncGenerator<string> {
      try {
        yield 'slow-1';
        await new Promise((r) => setTimeout(r, 5_000).unref?.() && signal.addEventListener('abort', r));
        yield 'slow-never';
      } finally {
        stopped++;
      }
    };
    const fast = async function* (): AsyncGenerator<string> {
      yield 'fast-1';
      yield 'fast-2';
    };
    const failing = async function* (): AsyncGenerator<string> {
      throw new Error('down');
    };
    const seen: string[] = [];
    const started = performance.now();
    for await (const r of mergeSources<string>(
      [
        { network: 'mainline', run: slow },
        { network: 'ipfs', run: fast },
        { network: 'ethereum', run: failing },
      ],
      undefined,
    )) {
      seen.push(typeof r === 'string' ? r : `${r.network}:${r.error.message}`);
      if (seen.length === 4) break;
    }
    assert.deepEqual(seen.sort(), ['ethereum:down', 'fast-1', 'fast-2', 'slow-1']);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(stopped, 1);
    assert.ok(performance.now() - started < 2_000);
  });
});

describe('polyfillWithResolvers', () => {
  it('gives Promise.withResolvers its standard behaviour when Node lacks it', async () => {
    polyfillWithResolvers();
    const { promise, resolve } = (Promise as any).withResolvers();
    resolve(7);
    assert.equal(await promise, 7);
  });
});
