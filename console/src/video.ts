// HLS in the page: hls.js where the browser has MSE (Chromium), native HLS elsewhere (Safari).
import Hls from "hls.js";

export interface Player {
  element: HTMLVideoElement;
  destroy(): void;
}

export function play(url: string, onFatal?: (reason: string) => void): Player {
  const element = document.createElement("video");
  element.muted = true; // autoplay is allowed only without sound
  element.autoplay = true;
  element.playsInline = true;
  element.controls = true;
  if (Hls.isSupported()) {
    const hls = new Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 1, levelLoadingMaxRetry: 2 });
    hls.on(Hls.Events.ERROR, (_event, data) => {
      if (data.fatal) {
        onFatal?.(`${data.type}: ${data.details} ${data.response?.code ?? ""}`.trim());
        hls.destroy();
      }
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => void element.play().catch(() => undefined));
    hls.loadSource(url);
    hls.attachMedia(element);
    return { element, destroy: () => hls.destroy() };
  }
  element.src = url;
  element.addEventListener("error", () => onFatal?.("media error"));
  return { element, destroy: () => element.removeAttribute("src") };
}
