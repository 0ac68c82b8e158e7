// The network map's view: positions from the layout worker drawn on one canvas (no DOM per node), zoom, pan, picking,
// fit to the view, and labels as a few DOM spans placed only where they collide with no other label.
import type { NetEdge, NetNode } from './api';
import type { LayoutRequest } from './layout.worker';

export interface GraphNode extends NetNode { degree: number }

const COLOURS = { host: '#38bdf8', ip: '#64748b', group: '#a78bfa', alerting: '#f59e0b', malicious: '#ef4444', selected: '#f8fafc' };
const STYLES = ['ip', 'group', 'host', 'alerting', 'malicious'] as const;
const LABEL_FONT = '11px ui-monospace, monospace';
const LABEL_H = 14;
const MAX_LABELS = 120;
/** Below this zoom only hosts, groups, hubs and flagged nodes get a label: other addresses are dots. */
const ADDRESS_LABEL_ZOOM = 0.9;
/** An address with this many links is a hub: labelled at any zoom, like a host. */
const HUB_DEGREE = 8;
/** Fitting a small map stops here: beyond it the dots grow into discs that cover their neighbours. */
const MAX_FIT_ZOOM = 1.5;
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
  /** Called once per graph, after the first laid-out frame is drawn. */
  onFirstPicture: () => void = () => undefined;
  /** Nodes in the order their labels are placed: selected first, then flagged, hosts, groups, the most linked. */
  private labelOrder: number[] = [];
  private labelWidth = new Float32Array(0);
  private spans: HTMLSpanElement[] = [];
  /** The user panned, zoomed or focused: the view is theirs, no more fitting. */
  private userView = false;
  private pictured = true;
  private sizes = new ResizeObserver(() => this.resize());

  constructor(private canvas: HTMLCanvasElement, private labels: HTMLElement, private onSelect: (n: GraphNode | null) => void) {
    this.ctx = canvas.getContext('2d')!;
    this.worker.onmessage = (e: MessageEvent<{ pos: Float32Array; done: boolean }>) => {
      if (e.data.pos.length !== this.nodes.length * 2) return; // a late answer about the previous graph
      this.pos = e.data.pos;
      this.settling = !e.data.done;
      if (!this.userView) this.fit();
      this.dirty = true;
    };
    // The canvas changes size with the toolbar above it (its text wraps), not only with the window.
    this.sizes.observe(canvas);
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
    this.view = { x: this.size.w / 2, y: this.size.h / 2, k: 1 };
    this.userView = false;
    this.pictured = nodes.length === 0;
    this.ctx.font = LABEL_FONT;
    this.labelWidth = Float32Array.from(this.nodes, (n) => this.ctx.measureText(n.label).width);
    // Flagged nodes and hosts first, then the hubs: a group with one link matters less than an address with forty.
    const rank = (n: GraphNode) => (n.malicious ? 4 : 0) + (n.alerts > 0 ? 3 : 0) + (n.kind === 'host' ? 2 : 0);
    this.labelOrder = this.nodes.map((_, i) => i).sort((a, b) => rank(this.nodes[b]!) - rank(this.nodes[a]!) || this.nodes[b]!.degree - this.nodes[a]!.degree);
    this.select(-1);
    if (this.pictured) this.onFirstPicture();
  }

  /** Scales and centres the view so every node is inside the canvas, with a margin for labels. */
  fit(): void {
    const n = this.nodes.length;
    if (n === 0 || this.size.w === 0) return;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let i = 0; i < n; i++) {
      const x = this.pos[i * 2]!, y = this.pos[i * 2 + 1]!;
      if (x < x0) x0 = x; if (x > x1) x1 = x; if (y < y0) y0 = y; if (y > y1) y1 = y;
    }
    const margin = 40;
    const k = Math.min(MAX_FIT_ZOOM, Math.max(0.05, Math.min((this.size.w - 2 * margin) / Math.max(1, x1 - x0), (this.size.h - 2 * margin) / Math.max(1, y1 - y0))));
    this.view = { k, x: this.size.w / 2 - ((x0 + x1) / 2) * k, y: this.size.h / 2 - ((y0 + y1) / 2) * k };
    this.dirty = true;
  }

  /** Selects the node with this label (an address or host name) and brings it to the middle of the view. */
  focus(label: string): boolean {
    const i = this.nodes.findIndex((n) => n.label === label || n.id === label);
    if (i < 0) return false;
    this.view.x = this.size.w / 2 - this.pos[i * 2]! * this.view.k;
    this.view.y = this.size.h / 2 - this.pos[i * 2 + 1]! * this.view.k;
    this.userView = true;
    this.select(i);
    return true;
  }

  resize(): void {
    const r = this.canvas.getBoundingClientRect();
    const dpr = devicePixelRatio || 1;
    this.size = { w: r.width, h: r.height };
    this.canvas.width = Math.round(r.width * dpr);
    this.canvas.height = Math.round(r.height * dpr);
    if (!this.userView) this.fit();
    this.dirty = true;
  }

  destroy(): void {
    this.worker.terminate();
    this.sizes.disconnect();
    cancelAnimationFrame(this.frame);
    this.canvas.removeEventListener('wheel', this.wheel);
    this.canvas.removeEventListener('pointerdown', this.down);
    removeEventListener('pointermove', this.move);
    removeEventListener('pointerup', this.up);
    this.labels.replaceChildren();
  }

  private radius(n: GraphNode): number {
    return (n.kind === 'host' ? 5 : n.kind === 'group' ? 4 : 3) + Math.min(6, Math.sqrt(n.degree));
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
    this.placeLabels();
    if (!this.pictured && this.pos.some((v) => v !== 0)) {
      this.pictured = true;
      this.onFirstPicture();
    }
  }

  /**
   * Labels in screen space, in label order, each only where it overlaps no label placed before it and lies inside the
   * canvas: zoomed out few fit, zoomed in more do. Plain addresses wait for ADDRESS_LABEL_ZOOM unless flagged.
   */
  private placeLabels(): void {
    const { pos, view } = this;
    const placed: { x: number; y: number; w: number }[] = [];
    const boxes: number[] = [];
    let bx0 = Infinity, by0 = Infinity, bx1 = -Infinity, by1 = -Infinity;
    for (let i = 0; i < this.nodes.length; i++) {
      const x = pos[i * 2]! * view.k + view.x, y = pos[i * 2 + 1]! * view.k + view.y, r = this.radius(this.nodes[i]!) * view.k;
      bx0 = Math.min(bx0, x - r); by0 = Math.min(by0, y - r); bx1 = Math.max(bx1, x + r); by1 = Math.max(by1, y + r);
    }
    const order = this.selected >= 0 ? [this.selected, ...this.labelOrder.filter((i) => i !== this.selected)] : this.labelOrder;
    for (const i of order) {
      if (placed.length >= MAX_LABELS) break;
      const n = this.nodes[i]!;
      const plain = n.kind === 'ip' && !n.malicious && n.alerts === 0 && n.degree < HUB_DEGREE;
      if (plain && view.k < ADDRESS_LABEL_ZOOM && i !== this.selected) continue;
      const x = pos[i * 2]! * view.k + view.x + this.radius(n) * view.k + 3, y = pos[i * 2 + 1]! * view.k + view.y - LABEL_H / 2;
      const w = this.labelWidth[i]! + 4;
      if (x < 0 || y < 0 || x + w > this.size.w || y + LABEL_H > this.size.h) continue;
      if (placed.some((p) => x < p.x + p.w && p.x < x + w && y < p.y + LABEL_H && p.y < y + LABEL_H)) continue;
      placed.push({ x, y, w });
      boxes.push(i);
    }
    while (this.spans.length < boxes.length) {
      const span = document.createElement('span');
      this.labels.append(span);
      this.spans.push(span);
    }
    this.spans.forEach((span, j) => {
      const i = boxes[j];
      if (i === undefined) { span.hidden = true; return; }
      const p = placed[j]!;
      span.hidden = false;
      if (span.textContent !== this.nodes[i]!.label) span.textContent = this.nodes[i]!.label;
      span.style.transform = `translate(${p.x.toFixed(1)}px, ${p.y.toFixed(1)}px)`;
    });
    // Where the nodes are on screen, for tests and tools: fitted means inside the canvas.
    this.canvas.dataset.nodeBounds = this.nodes.length ? [bx0, by0, bx1, by1].map((v) => v.toFixed(1)).join(',') : '';
    this.canvas.dataset.zoom = view.k.toFixed(3);
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
    this.userView = true;
    this.dirty = true;
  };

  private down = (e: PointerEvent): void => {
    this.drag = { x: e.clientX, y: e.clientY, moved: false };
  };

  private move = (e: PointerEvent): void => {
    if (!this.drag) return;
    const dx = e.clientX - this.drag.x, dy = e.clientY - this.drag.y;
    if (Math.abs(dx) + Math.abs(dy) > 2) { this.drag.moved = true; this.userView = true; }
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
