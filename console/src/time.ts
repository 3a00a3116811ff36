// Every time on screen goes through here: Korean Standard Time, in the selected language.
import { currentLang } from "./i18n";

const formats = new Map<string, Intl.DateTimeFormat>();

function format(options: Intl.DateTimeFormatOptions, key: string): Intl.DateTimeFormat {
  const id = `${currentLang()}:${key}`;
  let made = formats.get(id);
  if (!made) {
    made = new Intl.DateTimeFormat(currentLang() === "ko" ? "ko-KR" : "en-GB", { timeZone: "Asia/Seoul", ...options });
    formats.set(id, made);
  }
  return made;
}

/** 2026. 11. 30. 오후 3:24:05 KST */
export function kst(epochMs: number | string): string {
  const when = typeof epochMs === "string" ? Date.parse(epochMs) : epochMs;
  return `${format({ dateStyle: "medium", timeStyle: "medium" }, "full").format(when)} KST`;
}

/** 오후 3:24:05 */
export function kstTime(epochMs: number | string): string {
  const when = typeof epochMs === "string" ? Date.parse(epochMs) : epochMs;
  return format({ timeStyle: "medium" }, "time").format(when);
}

/** 4:05 left (mm:ss), for countdowns. */
export function countdown(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}
