/**
 * Make a real feature throw for one test: replace a prototype method with one that throws, and
 * put every replaced method back with `restoreMethods` (call it from `afterEach`).
 */
const undo: (() => void)[] = [];

export function breakMethod(proto: object, name: string, message: string): void {
  const target = proto as Record<string, unknown>;
  const original = target[name];
  target[name] = () => {
    throw new Error(message);
  };
  undo.push(() => (target[name] = original));
}

export function restoreMethods(): void {
  while (undo.length > 0) undo.pop()?.();
}

/** Put back the method broken last (a test that lets the feature recover mid-way). */
export function repairLast(): void {
  undo.pop()?.();
}
