import type { Handler } from './context.js';

/** BEP 5 ping: answer with our id. */
export const ping: Handler<'ping'> = (ctx) => ({ id: ctx.localId });
