import { messages, type Lang, type MessageKey } from "./messages";

const STORAGE = "gt.lang";
let lang: Lang = (localStorage.getItem(STORAGE) as Lang | null) ?? "ko";

export function currentLang(): Lang {
  return lang;
}

export function setLang(next: Lang): void {
  lang = next;
  localStorage.setItem(STORAGE, next);
  document.documentElement.lang = next;
}

export function t(key: MessageKey): string {
  return messages[lang][key] ?? messages.ko[key];
}

/** A key built at run time (an alert kind, a status): the raw value when there is no text for it. */
export function tDynamic(key: string): string {
  const table = messages[lang] as Record<string, string>;
  return table[key] ?? key;
}
