// The network map's force layout, off the main thread: the map pans, zooms and answers clicks at full
// frame rate while a few thousand nodes settle. In: node count and link index pairs; out: positions.
import { forceCenter, forceLink, forceManyBody, forceSimulation, forceX, forceY, type SimulationNodeDatum } from 'd3-force';

export interface LayoutRequest { count: number; links: Int32Array; hosts: Uint8Array }

type Node = SimulationNodeDatum & { host: boolean };
const scope = self as unknown as { postMessage(m: unknown, transfer?: Transferable[]): void; onmessage: ((e: MessageEvent<LayoutRequest>) => void) | null };

let timer: ReturnType<typeof setTimeout> | undefined;
const FIRST_MS = 250;
const SLICE_MS = 12;

function send(nodes: Node[], done: boolean): void {
  const pos = new Float32Array(nodes.length * 2);
  nodes.forEach((n, i) => { pos[i * 2] = n.x!; pos[i * 2 + 1] = n.y!; });
  scope.postMessage({ pos, done }, [pos.buffer]);
}

scope.onmessage = (e) => {
  clearTimeout(timer);
  const { count, links, hosts } = e.data;
  const nodes: Node[] = Array.from({ length: count }, (_, i) => ({ host: hosts[i] === 1 }));
  const pairs = Array.from({ length: links.length / 2 }, (_, i) => ({ source: links[i * 2]!, target: links[i * 2 + 1]! }));
  // Barnes–Hut with a coarse theta and a bounded reach keeps a tick cheap at a few thousand nodes.
  const sim = forceSimulation(nodes)
    .force('link', forceLink(pairs).distance(28).strength(0.4))
    .force('charge', forceManyBody<Node>().strength((n) => (n.host ? -120 : -30)).theta(1.2).distanceMax(400))
    .force('center', forceCenter(0, 0))
    // A weak pull to the middle keeps separate islands near each other, so the fitted map is not mostly empty space.
    .force('x', forceX(0).strength(0.06))
    .force('y', forceY(0).strength(0.06))
    .alphaDecay(0.03)
    .stop();
  // Ticks run in slices of a frame's time, and the first answer waits until the layout has mostly settled
  // (or FIRST_MS passed): the first picture is a laid-out map, not a hairball exploding from the centre.
  const step = (budgetMs: number) => {
    const until = performance.now() + budgetMs;
    let done = false;
    do {
      sim.tick();
      done = sim.alpha() < sim.alphaMin();
    } while (!done && performance.now() < until);
    send(nodes, done);
    // A macrotask between slices, so a new graph can replace this one at once.
    if (!done) timer = setTimeout(() => step(SLICE_MS), 0);
  };
  step(FIRST_MS);
};
