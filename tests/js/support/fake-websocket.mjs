// A WebSocket stand-in: no network. Each instance is recorded in `FakeWebSocket.made`; the test
// plays the server with open(), receive(frame), and serverClose(code).

export class FakeWebSocket {
  static made = [];

  static reset() {
    FakeWebSocket.made = [];
  }

  static get last() {
    return FakeWebSocket.made.at(-1);
  }

  constructor(url) {
    this.url = url;
    this.readyState = 0; // CONNECTING
    this.sent = [];
    this.closedWith = null;
    this.onopen = this.onmessage = this.onerror = this.onclose = null;
    FakeWebSocket.made.push(this);
  }

  /** The frames the client sent, parsed. */
  get frames() {
    return this.sent.map((text) => JSON.parse(text));
  }

  send(text) {
    if (this.readyState !== 1) throw new Error("not open");
    this.sent.push(text);
  }

  /** The client closes: as in a browser, its onclose would come later (clients drop handlers). */
  close(code = 1000) {
    this.closedWith = code;
    this.readyState = 3;
  }

  // --- The server's side ---

  open() {
    this.readyState = 1;
    this.onopen?.({});
  }

  receive(frame) {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }

  serverClose(code = 1006, reason = "") {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

export const LOCATION = { protocol: "http:", host: "coresponder.test" };
