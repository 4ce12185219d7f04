/* Danmaku renderer: one <canvas> over the video, drawn from the video clock (pauses, seeks and playback
   rate come for free). The display area is one grid of lanes shared by every mode: scrolling comments move
   at one speed, so a comment never catches the one ahead of it in its lane; top comments take free lanes
   from the top, bottom comments from the bottom of the area, for 4 s. A lane holds either scrolling or
   fixed comments at any moment, never both, so no two comments overlap (anti-overlap across modes). Each
   comment is rendered once into a small bitmap and then only copied; nothing is drawn while paused. */
const FIXED_SECONDS = 4;
const GAP = 24;
const TOP_MARGIN = 4;
const BOTTOM_MARGIN = 40; // the player's control bar

export class DanmakuCanvas {
  constructor(canvas, video) {
    this.canvas = canvas;
    this.video = video;
    this.ctx = canvas.getContext("2d");
    this.comments = [];
    this.next = 0;
    this.active = [];
    this.lanes = [];
    this.settings = { opacity: 0.9, fontSize: 24, speed: 8, area: 0.5, density: 80, filter: [] };
    this.running = false;
    this.frame = 0;
    this.shown = 0;
    this.tick = this.tick.bind(this);
    new ResizeObserver(() => this.resize()).observe(canvas);
    video.addEventListener("seeking", () => this.seek());
    video.addEventListener("play", () => this.start());
    video.addEventListener("playing", () => this.start());
    video.addEventListener("pause", () => this.stop());
    this.resize();
  }

  load(comments) {
    this.comments = comments;
    this.seek();
  }

  configure(settings) {
    Object.assign(this.settings, settings);
    this.canvas.style.opacity = String(this.settings.opacity);
    this.seek();
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const { clientWidth: w, clientHeight: h } = this.canvas;
    this.width = w;
    this.height = h;
    this.canvas.width = Math.round(w * ratio);
    this.canvas.height = Math.round(h * ratio);
    this.ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    this.ratio = ratio;
    this.seek();
  }

  /** After a seek, a resize or new settings: start again from the comments at the current time. */
  seek() {
    const now = this.video.currentTime || 0;
    let lo = 0;
    let hi = this.comments.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.comments[mid][0] < now) lo = mid + 1;
      else hi = mid;
    }
    this.next = lo;
    this.active = [];
    this.lanes = [];
    this.draw(now);
  }

  start() {
    if (this.running || this.canvas.hidden) return;
    this.running = true;
    this.frame = requestAnimationFrame(this.tick);
  }

  stop() {
    this.running = false;
    cancelAnimationFrame(this.frame);
  }

  clear() {
    this.ctx.clearRect(0, 0, this.width, this.height);
  }

  tick() {
    if (!this.running) return;
    this.draw(this.video.currentTime);
    this.frame = requestAnimationFrame(this.tick);
  }

  blocked(text) {
    return this.settings.filter.some((word) => word && text.includes(word));
  }

  bitmap(text, color) {
    const size = this.settings.fontSize;
    const font = `700 ${size}px system-ui, "PingFang SC", "Microsoft YaHei", sans-serif`;
    this.ctx.font = font;
    const width = Math.ceil(this.ctx.measureText(text).width) + 4;
    const height = Math.ceil(size * 1.25);
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(width * this.ratio));
    canvas.height = Math.max(1, Math.round(height * this.ratio));
    const g = canvas.getContext("2d");
    g.scale(this.ratio, this.ratio);
    g.font = font;
    g.textBaseline = "middle";
    g.lineWidth = Math.max(2, size / 10);
    g.strokeStyle = "rgb(0 0 0 / 75%)";
    g.fillStyle = `#${color.toString(16).padStart(6, "0")}`;
    g.strokeText(text, 2, height / 2);
    g.fillText(text, 2, height / 2);
    return { canvas, width, height };
  }

  /** Lanes of the display area: its share of the height, above the control bar. */
  laneCount(lineHeight) {
    const usable = Math.min(this.height * this.settings.area, this.height - BOTTOM_MARGIN) - TOP_MARGIN;
    return Math.max(1, Math.floor(usable / lineHeight));
  }

  /** Left edge of a scrolling comment at `now`. */
  scrollX(item, now) {
    return this.width - (now - item.start) * item.speed;
  }

  laneState(lane) {
    return this.lanes[lane] || (this.lanes[lane] = { scroll: null, fixed: null, heldBy: "", heldUntil: 0 });
  }

  /** Whether `lane` can take a comment of `kind` whose head is at `head` (scrolling) at `now`. */
  laneFree(lane, kind, head, now) {
    const state = this.laneState(lane);
    if (state.fixed && now - state.fixed.start < FIXED_SECONDS) return false;
    const held = now < state.heldUntil;
    if (held && state.heldBy !== kind) return false;
    const last = state.scroll;
    if (!last) return true;
    const tail = this.scrollX(last, now) + last.width;
    return kind === "scroll" ? tail + GAP <= head : tail < 0;
  }

  /** Fixed comments hold up to a quarter of the lanes per kind (for 8 s after the last one), and scrolling
      comments keep out of held lanes, so a busy stream of scrolling comments cannot starve the top and
      bottom ones. A placed comment holds its lane; one that found no room holds the open lane whose
      scrolling comment leaves first, for the next comments of its kind. */
  hold(kind, placed, order, now) {
    const open = order.filter((i) => !(now < this.laneState(i).heldUntil));
    const lane = placed !== undefined ? placed : open.reduce((a, b) => (this.leaves(a, now) <= this.leaves(b, now) ? a : b), open[0]);
    if (lane === undefined) return;
    const state = this.laneState(lane);
    const mine = state.heldBy === kind && now < state.heldUntil;
    const held = this.lanes.filter((s) => s && s.heldBy === kind && now < s.heldUntil).length;
    if (!mine && held >= Math.floor(order.length / 4)) return;
    state.heldBy = kind;
    state.heldUntil = now + 2 * FIXED_SECONDS;
  }

  place(comment, now) {
    const [time, mode, color, text] = comment;
    if (this.active.length >= this.settings.density || this.blocked(text)) return;
    const lineHeight = Math.ceil(this.settings.fontSize * 1.3);
    const count = this.laneCount(lineHeight);
    const speed = this.width / this.settings.speed;
    const kind = mode === 5 ? "top" : mode === 4 ? "bottom" : "scroll";
    const start = Math.max(time, now - 0.25); // a little late after a hitch: enter already moving
    const head = this.width - (now - start) * speed;
    const order = Array.from({ length: count }, (_, i) => (kind === "bottom" ? count - 1 - i : i));
    const lane = order.find((i) => this.laneFree(i, kind, head, now));
    if (kind !== "scroll") this.hold(kind, lane, order, now);
    if (lane === undefined) return; // no room: dropped rather than drawn over another comment
    const item = { ...this.bitmap(text, color), start: kind === "scroll" ? start : now, kind, lane, lineHeight, speed };
    this.laneState(lane)[kind === "scroll" ? "scroll" : "fixed"] = item;
    this.active.push(item);
    this.shown += 1;
  }

  /** When the lane's last scrolling comment has gone off the left edge. */
  leaves(lane, now) {
    const last = this.laneState(lane).scroll;
    return last ? now + Math.max(0, this.scrollX(last, now) + last.width) / last.speed : now;
  }

  /** Where an item is drawn at `now`, or null once it has gone. */
  box(item, now) {
    const y = item.lane * item.lineHeight + TOP_MARGIN;
    if (item.kind === "scroll") {
      const x = this.scrollX(item, now);
      return x + item.width < 0 ? null : { x, y, width: item.width, height: item.height };
    }
    if (now - item.start >= FIXED_SECONDS) return null;
    return { x: (this.width - item.width) / 2, y, width: item.width, height: item.height };
  }

  draw(now) {
    this.clear();
    while (this.next < this.comments.length && this.comments[this.next][0] <= now) {
      const comment = this.comments[this.next];
      this.next += 1;
      if (now - comment[0] < 1) this.place(comment, now);
    }
    const keep = [];
    for (const item of this.active) {
      const box = this.box(item, now);
      if (!box) continue;
      this.ctx.drawImage(item.canvas, box.x, box.y, box.width, box.height);
      keep.push(item);
    }
    this.active = keep;
  }
}
