// Shared websocket client for hallq pages: subscribe, take a snapshot per topic, then
// apply events in seq order. Re-subscribes on {"type":"resync"} or on a sequence
// gap, and reconnects with capped exponential backoff. Holds no growing state: only
// the last seq per connection, so a page can run for days.

const MAX_BACKOFF_MS = 15000;
const PING_MS = 20000;        // app-level ping: a silently dead network is noticed
const SILENCE_MS = 45000;     // no message at all for this long → reconnect

export class Feed {
  /**
   * @param {string[]} topics  e.g. ["hall", "window:3"]
   * @param {{onSnapshot?: (topic: string, data: any, msg: any) => void,
   *          onEvent?: (msg: any) => void,
   *          onStatus?: (status: "connecting"|"live"|"offline") => void}} handlers
   */
  constructor(topics, handlers = {}) {
    this.topics = [...topics];
    this.handlers = handlers;
    this.ws = null;
    this.lastSeq = 0;          // highest seq applied (snapshot or event)
    this.backoff = 500;
    this.timer = null;
    this.stopped = false;
    this.generation = 0;       // ignores late messages of an old socket
    this.lastMessageAt = 0;
    this.pinger = null;
  }

  url() {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    return `${proto}//${location.host}/ws`;
  }

  start() {
    this.stopped = false;
    this.connect();
    return this;
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    this.generation++;
    if (this.ws) this.ws.close();
    this.ws = null;
  }

  /** Change the topic set (e.g. the clerk signs in to another window). */
  setTopics(topics) {
    this.topics = [...topics];
    this.resubscribe();
  }

  status(s) {
    this.state = s;
    if (this.handlers.onStatus) this.handlers.onStatus(s);
  }

  connect() {
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) { try { this.ws.close(); } catch (e) { /* already closed */ } }
    const gen = ++this.generation;
    this.status("connecting");
    let ws;
    try {
      ws = new WebSocket(this.url());
    } catch (e) {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.lastMessageAt = Date.now();
    ws.onopen = () => {
      if (gen !== this.generation) return;
      this.resubscribe();
      this.pinger = setInterval(() => this.keepAlive(gen), PING_MS);
    };
    ws.onmessage = (ev) => {
      if (gen !== this.generation) return;
      this.lastMessageAt = Date.now();
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      this.handle(msg);
    };
    ws.onclose = () => {
      if (gen !== this.generation) return;
      clearInterval(this.pinger);
      this.ws = null;
      this.status("offline");
      if (!this.stopped) this.scheduleReconnect();
    };
    ws.onerror = () => { /* onclose follows */ };
  }

  keepAlive(gen) {
    if (gen !== this.generation || !this.ws) return;
    if (Date.now() - this.lastMessageAt > SILENCE_MS) {
      // the socket looks open but nothing arrives: drop it without waiting for a close handshake
      this.status("offline");
      this.connect();
      return;
    }
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ op: "ping" }));
  }

  scheduleReconnect() {
    clearTimeout(this.timer);
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  resubscribe() {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.lastSeq = 0;
    this.pending = new Set(this.topics);
    // handlers.subscribe: extra fields of the subscribe message (the ticket page's ticket_token)
    this.ws.send(JSON.stringify({ op: "subscribe", topics: this.topics, ...(this.handlers.subscribe || {}) }));
  }

  handle(msg) {
    const type = msg.type;
    if (type === "resync") { this.resubscribe(); return; }
    if (type === "snapshot") {
      const topic = msg.topic;
      if (typeof msg.seq === "number") this.lastSeq = Math.max(this.lastSeq, msg.seq);
      if (this.pending) {
        this.pending.delete(topic);
        if (this.pending.size === 0) { this.backoff = 500; this.status("live"); }
      }
      if (this.handlers.onSnapshot) this.handlers.onSnapshot(topic, msg.data, msg);
      return;
    }
    if (type === "error") {
      // a topic the server refused (unknown window…) must not keep the feed "connecting"
      if (msg.topic && this.pending && this.pending.delete(msg.topic) && this.pending.size === 0) this.status("live");
      if (this.handlers.onError) this.handlers.onError(msg);
      return;
    }
    if (type === "pong") return;
    if (typeof msg.seq === "number") {
      if (msg.seq <= this.lastSeq) return;          // already part of a snapshot
      // A gap is announced by the server with "prev" (the previous seq on this
      // connection); without it the global seq cannot tell a gap from a filtered event.
      if (typeof msg.prev === "number" && this.lastSeq && msg.prev > this.lastSeq) {
        this.resubscribe();
        return;
      }
      this.lastSeq = msg.seq;
    }
    if (this.handlers.onEvent) this.handlers.onEvent(msg);
  }
}

/** Small helper: show the connection state in an element with data-status. */
export function bindStatus(el, t) {
  return (s) => {
    if (!el) return;
    el.dataset.status = s;
    el.dataset.i18n = "conn." + s;   // re-translated when the language changes
    el.textContent = t ? t("conn." + s) : s;
  };
}
