import Bottleneck from 'bottleneck/light.js';

// Probot's Octokit queues every request through Bottleneck twice (the throttling and the retry plugins).
// Bottleneck's in-process store yields to the event loop between its steps with setTimeout(0), which Node
// holds for at least a millisecond: about ten of them per request, so each GitHub call waited ~10 ms for
// timers alone, and a release's three reads in a row before its rollout could be planned ~30 ms. Yielding
// with setImmediate keeps every step asynchronous, in the same order, without the wait. Delays Bottleneck
// asks for (minTime between writes, retry-after) still go through setTimeout.

interface LocalStore {
  Promise: PromiseConstructor;
  yieldLoop(ms?: number): Promise<void>;
}

const store = Object.getPrototypeOf((new Bottleneck() as unknown as { _store: LocalStore })._store) as LocalStore;
store.yieldLoop = function yieldLoop(this: LocalStore, ms = 0) {
  return new this.Promise<void>((resolve) => (ms > 0 ? setTimeout(resolve, ms) : setImmediate(resolve)));
};
