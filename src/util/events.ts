/**
 * A minimal typed event bus. Emitting with no listeners costs one property read, so protocol
 * code can announce everything it does and leave the counting to consumers (statistics, metrics,
 * dashboard) that subscribe.
 */
export type Listener<T> = (payload: T) => void;

// biome-ignore lint/suspicious/noExplicitAny: event maps are arbitrary records of payload types
export class EventBus<Events extends Record<string, any>> {
  private readonly listeners: { [K in keyof Events]?: Listener<Events[K]>[] } = {};

  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const list = this.listeners[event];
    if (list) list.push(listener);
    else this.listeners[event] = [listener];
    return () => this.off(event, listener);
  }

  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): void {
    const list = this.listeners[event];
    if (!list) return;
    const i = list.indexOf(listener);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) delete this.listeners[event];
  }

  has<K extends keyof Events>(event: K): boolean {
    return this.listeners[event] !== undefined;
  }

  emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const list = this.listeners[event];
    if (!list) return;
    // Copy so a listener that unsubscribes during emit does not skip its neighbour.
    for (const listener of list.slice()) listener(payload);
  }
}
