// Keep the screen on during CPR (Screen Wake Lock API). The browser releases the lock whenever
// the page is hidden, so it is taken again when the page comes back.

export class ScreenWakeLock {
  constructor(onChange = () => {}) {
    this.onChange = onChange;
    this.sentinel = null;
    this.wanted = false;
    this.supported = "wakeLock" in navigator;
    this.visibility = () => {
      if (this.wanted && document.visibilityState === "visible" && !this.sentinel) this._acquire();
    };
  }

  get held() {
    return Boolean(this.sentinel);
  }

  async enable() {
    this.wanted = true;
    document.addEventListener("visibilitychange", this.visibility);
    await this._acquire();
  }

  async disable() {
    this.wanted = false;
    document.removeEventListener("visibilitychange", this.visibility);
    const sentinel = this.sentinel;
    this.sentinel = null;
    try {
      await sentinel?.release();
    } catch {
      // already released
    }
    this.onChange(this);
  }

  async _acquire() {
    if (!this.supported || document.visibilityState !== "visible") return;
    try {
      this.sentinel = await navigator.wakeLock.request("screen");
      this.sentinel.addEventListener("release", () => {
        this.sentinel = null;
        this.onChange(this);
      });
    } catch {
      this.sentinel = null; // refused (battery saver) or not allowed
    }
    this.onChange(this);
  }
}
