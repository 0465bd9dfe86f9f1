// The alert websocket: one-time ticket (POST /ws/tickets), then
// {"type":"auth","ticket","last_seq"}. On any drop it reconnects with backoff and
// resumes from the last seq it saw, so an alert raised while it was away arrives
// once; an event at or below that seq is never applied twice.
import { api } from "./api.js";

export class LiveFeed {
  constructor({ onSnapshot, onEvent, onStatus }) {
    Object.assign(this, { onSnapshot, onEvent, onStatus });
    this.lastSeq = null;
    this.ws = null;
    this.stopped = false;
    this.retry = 0;
    this.resyncSeq = null;
  }

  start() { this.stopped = false; this.connect(); }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close(1000, "logout");
    this.ws = null;
    this.onStatus("off");
  }

  async connect() {
    if (this.stopped) return;
    this.onStatus(this.lastSeq === null ? "connecting" : "reconnecting");
    let ticket;
    try {
      ticket = (await api("/ws/tickets", { method: "POST" })).ticket;
    } catch (e) {
      if (e.status === 401 || e.status === 403) return this.onStatus("off");
      return this.later();
    }
    if (this.stopped) return;
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws/alerts`);
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", ticket, last_seq: this.lastSeq }));
    ws.onmessage = (m) => this.receive(JSON.parse(m.data));
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (e.code === 4000 && this.resyncSeq !== null && this.lastSeq !== null) {
        this.lastSeq = Math.min(this.lastSeq, this.resyncSeq);
      }
      this.resyncSeq = null;
      this.later();
    };
  }

  later() {
    if (this.stopped) return;
    this.onStatus("reconnecting");
    const delay = Math.min(5000, 500 * 2 ** this.retry++);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  receive(msg) {
    if (msg.type === "snapshot") {
      this.lastSeq = msg.seq;
      this.retry = 0;
      this.onSnapshot(msg.alerts);
      this.onStatus("live");
    } else if (msg.type === "event") {
      if (this.lastSeq !== null && msg.seq <= this.lastSeq) return; // seen already
      this.lastSeq = msg.seq;
      this.onEvent(msg);
    } else if (msg.type === "resumed") {
      this.lastSeq = Math.max(this.lastSeq ?? 0, msg.seq);
      this.retry = 0;
      this.onStatus("live");
    } else if (msg.type === "resync") {
      this.resyncSeq = msg.seq;
    } else if (msg.type === "ping") {
      this.ws?.send(JSON.stringify({ type: "pong" }));
    }
  }
}
