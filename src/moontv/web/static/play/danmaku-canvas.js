/* Danmaku renderer: one <canvas> over the video, drawn from the video clock (pauses, seeks and playback
   rate come for free). Scrolling comments move at one speed in lanes, so a comment never catches the one
   ahead of it (anti-overlap); top and bottom comments stay 4 s. Each comment is rendered once into a
   small bitmap and then only copied, and nothing is drawn while the video is paused. */
const FIXED_SECONDS = 4;
const GAP = 24;

export class DanmakuCanvas {
  constructor(canvas, video) {
    this.canvas = canvas;
    this.video = video;
    this.ctx = canvas.getContext("2d");
    this.comments = [];
    this.next = 0;
    this.active = [];
    this.lanes = { scroll: [], top: [], bottom: [] };
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
    this.lanes = { scroll: [], top: [], bottom: [] };
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

  place(comment, now) {
    const [time, mode, color, text] = comment;
    if (this.active.length >= this.settings.density || this.blocked(text)) return;
    const lineHeight = Math.ceil(this.settings.fontSize * 1.3);
    const laneCount = Math.max(1, Math.floor((this.height * this.settings.area) / lineHeight));
    const speed = this.width / this.settings.speed;
    const kind = mode === 5 ? "top" : mode === 4 ? "bottom" : "scroll";
    const lanes = this.lanes[kind];
    let lane = -1;
    for (let i = 0; i < laneCount; i += 1) {
      const last = lanes[i];
      if (!last) { lane = i; break; }
      if (kind === "scroll") {
        const tail = this.width - (now - last.start) * speed + last.width;
        if (tail + GAP <= this.width) { lane = i; break; }
      } else if (now - last.start >= FIXED_SECONDS) { lane = i; break; }
    }
    if (lane < 0) return; // no room: dropped rather than drawn over another comment
    const item = { ...this.bitmap(text, color), start: Math.max(time, now - 0.25), kind, lane, lineHeight, speed };
    lanes[lane] = item;
    this.active.push(item);
    this.shown += 1;
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
      const age = now - item.start;
      let x;
      let y;
      if (item.kind === "scroll") {
        x = this.width - age * item.speed;
        if (x + item.width < 0) continue;
        y = item.lane * item.lineHeight + 4;
      } else {
        if (age >= FIXED_SECONDS) continue;
        x = (this.width - item.width) / 2;
        y = item.kind === "top" ? item.lane * item.lineHeight + 4 : this.height - (item.lane + 1) * item.lineHeight - 40;
      }
      this.ctx.drawImage(item.canvas, x, y, item.width, item.height);
      keep.push(item);
    }
    this.active = keep;
  }
}
