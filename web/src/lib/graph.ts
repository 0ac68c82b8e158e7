// The network map's view: positions from the layout worker drawn on one canvas (no DOM per node), zoom, pan, picking.
import type { NetEdge, NetNode } from './api';
import type { LayoutRequest } from './layout.worker';

export interface GraphNode extends NetNode { degree: number }

const COLOURS = { host: '#38bdf8', ip: '#64748b', alerting: '#f59e0b', malicious: '#ef4444', selected: '#f8fafc' };
const STYLES = ['ip', 'host', 'alerting', 'malicious'] as const;
type Style = (typeof STYLES)[number];

export class NetworkGraph {
  private ctx: CanvasRenderingContext2D;
  private worker = new Worker(new URL('./layout.worker.ts', import.meta.url), { type: 'module' });
  private nodes: GraphNode[] = [];
  /** Node indexes per drawing style, so each style is one path. */
  private byStyle = new Map<Style, number[]>();
  private links = new Int32Array(0);
  private pos: Float32Array<ArrayBufferLike> = new Float32Array(0);
  private view = { x: 0, y: 0, k: 1 };
  private dirty = true;
  private frame = 0;
  private drag: { x: number; y: number; moved: boolean } | null = null;
  private selected = -1;
  private size = { w: 0, h: 0 };
  /** Frames drawn and the average time one takes, for the page's smoothness read-out. */
  frames = 0;
  drawMs = 0;
  /** True while the layout is still moving nodes. */
  settling = false;

  constructor(private canvas: HTMLCanvasElement, private onSelect: (n: GraphNode | null) => void) {
    this.ctx = canvas.getContext('2d')!;
    this.worker.onmessage = (e: MessageEvent<{ pos: Float32Array; done: boolean }>) => {
      if (e.data.pos.length !== this.nodes.length * 2) return; // a late answer about the previous graph
      this.pos = e.data.pos;
      this.settling = !e.data.done;
      this.dirty = true;
    };
    canvas.addEventListener('wheel', this.wheel, { passive: false });
    canvas.addEventListener('pointerdown', this.down);
    addEventListener('pointermove', this.move);
    addEventListener('pointerup', this.up);
    this.resize();
    this.loop();
  }

  setData(nodes: NetNode[], edges: NetEdge[]): void {
    const index = new Map(nodes.map((n, i) => [n.id, i]));
    this.nodes = nodes.map((n) => ({ ...n, degree: 0 }));
    const pairs: number[] = [];
    for (const e of edges) {
      const s = index.get(e.source), t = index.get(e.target);
      if (s === undefined || t === undefined) continue;
      pairs.push(s, t);
      this.nodes[s]!.degree++; this.nodes[t]!.degree++;
    }
    this.links = Int32Array.from(pairs);
    this.byStyle = new Map(STYLES.map((s) => [s, []]));
    this.nodes.forEach((n, i) => this.byStyle.get(this.style(n))!.push(i));
    this.pos = new Float32Array(this.nodes.length * 2);
    this.settling = true;
    const req: LayoutRequest = { count: nodes.length, links: this.links.slice(), hosts: Uint8Array.from(this.nodes, (n) => (n.kind === 'host' ? 1 : 0)) };
    this.worker.postMessage(req, [req.links.buffer, req.hosts.buffer]);
    this.view = { x: this.size.w / 2, y: this.size.h / 2, k: nodes.length > 500 ? 0.5 : 1 };
    this.select(-1);
  }

  /** Selects the node with this label (an address or host name) and brings it to the middle of the view. */
  focus(label: string): boolean {
    const i = this.nodes.findIndex((n) => n.label === label || n.id === label);
    if (i < 0) return false;
    this.view.x = this.size.w / 2 - this.pos[i * 2]! * this.view.k;
    this.view.y = this.size.h / 2 - this.pos[i * 2 + 1]! * this.view.k;
    this.select(i);
    return true;
  }

  resize(): void {
    const r = this.canvas.getBoundingClientRect();
    const dpr = devicePixelRatio || 1;
    this.size = { w: r.width, h: r.height };
    this.canvas.width = Math.round(r.width * dpr);
    this.canvas.height = Math.round(r.height * dpr);
    this.dirty = true;
  }

  destroy(): void {
    this.worker.terminate();
    cancelAnimationFrame(this.frame);
    this.canvas.removeEventListener('wheel', this.wheel);
    this.canvas.removeEventListener('pointerdown', this.down);
    removeEventListener('pointermove', this.move);
    removeEventListener('pointerup', this.up);
  }

  private radius(n: GraphNode): number {
    return (n.kind === 'host' ? 5 : 3) + Math.min(6, Math.sqrt(n.degree));
  }

  private loop = (): void => {
    if (this.dirty) {
      const t = performance.now();
      this.draw();
      this.drawMs = this.drawMs * 0.9 + (performance.now() - t) * 0.1;
      this.dirty = false;
      this.frames++;
    }
    this.frame = requestAnimationFrame(this.loop);
  };

  private draw(): void {
    const { ctx, pos, view } = this;
    const dpr = devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.size.w, this.size.h);
    ctx.setTransform(dpr * view.k, 0, 0, dpr * view.k, dpr * view.x, dpr * view.y);
    // One path per style: a few thousand separate draw calls would cost more than everything else.
    ctx.lineWidth = 0.6 / view.k;
    ctx.strokeStyle = 'rgba(100,116,139,0.35)';
    ctx.beginPath();
    for (let i = 0; i < this.links.length; i += 2) {
      const s = this.links[i]! * 2, t = this.links[i + 1]! * 2;
      ctx.moveTo(pos[s]!, pos[s + 1]!); ctx.lineTo(pos[t]!, pos[t + 1]!);
    }
    ctx.stroke();
    for (const style of STYLES) {
      ctx.fillStyle = COLOURS[style];
      ctx.beginPath();
      for (const i of this.byStyle.get(style) ?? []) {
        const r = this.radius(this.nodes[i]!), x = pos[i * 2]!, y = pos[i * 2 + 1]!;
        ctx.moveTo(x + r, y);
        ctx.arc(x, y, r, 0, Math.PI * 2);
      }
      ctx.fill();
    }
    if (this.selected >= 0) {
      const n = this.nodes[this.selected]!, x = pos[this.selected * 2]!, y = pos[this.selected * 2 + 1]!;
      ctx.strokeStyle = COLOURS.selected;
      ctx.lineWidth = 2 / view.k;
      ctx.beginPath(); ctx.arc(x, y, this.radius(n) + 3 / view.k, 0, Math.PI * 2); ctx.stroke();
    }
    // Labels only where they can be read: hosts and hubs always, every address once zoomed in.
    ctx.fillStyle = '#cbd5e1';
    ctx.font = `${11 / view.k}px ui-monospace, monospace`;
    this.nodes.forEach((n, i) => {
      if (n.kind !== 'host' && n.degree < 8 && view.k < 1.5 && i !== this.selected) return;
      ctx.fillText(n.label, pos[i * 2]! + this.radius(n) + 2, pos[i * 2 + 1]! + 3 / view.k);
    });
  }

  private style(n: GraphNode): Style {
    if (n.malicious) return 'malicious';
    if (n.alerts > 0) return 'alerting';
    return n.kind;
  }

  /** The node nearest a canvas point, within a few pixels; a linear scan costs well under a millisecond at 2,000. */
  private pick(e: MouseEvent): number {
    const r = this.canvas.getBoundingClientRect();
    const x = (e.clientX - r.left - this.view.x) / this.view.k, y = (e.clientY - r.top - this.view.y) / this.view.k;
    let best = -1, bestD = (12 / this.view.k) ** 2;
    for (let i = 0; i < this.nodes.length; i++) {
      const d = (this.pos[i * 2]! - x) ** 2 + (this.pos[i * 2 + 1]! - y) ** 2;
      if (d < bestD) { best = i; bestD = d; }
    }
    return best;
  }

  private select(i: number): void {
    this.selected = i;
    this.dirty = true;
    this.onSelect(i >= 0 ? this.nodes[i]! : null);
  }

  private wheel = (e: WheelEvent): void => {
    e.preventDefault();
    const r = this.canvas.getBoundingClientRect();
    const px = e.clientX - r.left, py = e.clientY - r.top;
    const k = Math.min(8, Math.max(0.1, this.view.k * Math.exp(-e.deltaY * 0.0015)));
    // Zoom about the pointer: the point under it stays under it.
    this.view.x = px - ((px - this.view.x) * k) / this.view.k;
    this.view.y = py - ((py - this.view.y) * k) / this.view.k;
    this.view.k = k;
    this.dirty = true;
  };

  private down = (e: PointerEvent): void => {
    this.drag = { x: e.clientX, y: e.clientY, moved: false };
  };

  private move = (e: PointerEvent): void => {
    if (!this.drag) return;
    const dx = e.clientX - this.drag.x, dy = e.clientY - this.drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 2) this.drag.moved = true;
    this.view.x += dx; this.view.y += dy;
    this.drag.x = e.clientX; this.drag.y = e.clientY;
    this.dirty = true;
  };

  private up = (e: PointerEvent): void => {
    const drag = this.drag;
    this.drag = null;
    if (!drag || drag.moved || e.target !== this.canvas) return;
    this.select(this.pick(e));
  };
}
