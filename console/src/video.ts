// HLS in the page: hls.js where the browser has MSE (Chromium), native HLS elsewhere (Safari).
// A control-room player does not give up on a hiccup: a fatal error reloads the same signed link a few times.
import Hls from "hls.js";

export interface Player {
  element: HTMLVideoElement;
  destroy(): void;
}

const RETRIES = 5;
const RETRY_MS = 1500;

export function play(url: string, onFatal?: (reason: string) => void): Player {
  const element = document.createElement("video");
  element.muted = true; // autoplay is allowed only without sound
  element.autoplay = true;
  element.playsInline = true;
  element.controls = true;
  if (!Hls.isSupported()) {
    element.src = url;
    element.addEventListener("error", () => onFatal?.("media error"));
    return { element, destroy: () => element.removeAttribute("src") };
  }
  let hls: Hls | null = null;
  let retries = 0;
  let timer = 0;
  let destroyed = false;
  const start = () => {
    const current = new Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 1, levelLoadingMaxRetry: 2 });
    hls = current;
    current.on(Hls.Events.ERROR, (_event, data) => {
      if (!data.fatal) return;
      const status = data.response?.code;
      onFatal?.(`${data.type}: ${data.details} ${status ?? ""}`.trim());
      current.destroy();
      // refused links (403: revoked, expired, wrong address) stay refused; anything else is retried
      if (!destroyed && status !== 403 && retries++ < RETRIES) timer = window.setTimeout(start, RETRY_MS);
    });
    current.on(Hls.Events.MANIFEST_PARSED, () => void element.play().catch(() => undefined));
    current.loadSource(url);
    current.attachMedia(element);
  };
  start();
  return {
    element,
    destroy: () => {
      destroyed = true;
      window.clearTimeout(timer);
      hls?.destroy();
    },
  };
}
