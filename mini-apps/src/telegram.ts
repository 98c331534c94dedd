// The part of Telegram's Mini App API (window.Telegram.WebApp, from telegram-web-app.js) the two
// apps use, and the launch data when the page is opened outside Telegram (`dvorik try` puts it in
// the URL fragment the way Telegram does). https://core.telegram.org/bots/webapps

export interface ThemeParams {
  bg_color?: string;
  text_color?: string;
  hint_color?: string;
  link_color?: string;
  button_color?: string;
  button_text_color?: string;
  secondary_bg_color?: string;
  header_bg_color?: string;
  accent_text_color?: string;
  section_bg_color?: string;
  section_header_text_color?: string;
  subtitle_text_color?: string;
  destructive_text_color?: string;
}

export interface MainButton {
  setText(text: string): MainButton;
  onClick(callback: () => void): MainButton;
  offClick(callback: () => void): MainButton;
  show(): MainButton;
  hide(): MainButton;
  enable(): MainButton;
  disable(): MainButton;
  showProgress(leaveActive?: boolean): MainButton;
  hideProgress(): MainButton;
}

export interface WebApp {
  initData: string;
  version?: string;
  colorScheme?: "light" | "dark";
  themeParams?: ThemeParams;
  ready?(): void;
  expand?(): void;
  onEvent?(event: string, callback: () => void): void;
  setHeaderColor?(color: string): void;
  setBackgroundColor?(color: string): void;
  showScanQrPopup?(params: { text?: string }, callback: (text: string) => boolean | void): void;
  closeScanQrPopup?(): void;
  MainButton?: MainButton;
  HapticFeedback?: { notificationOccurred(kind: "error" | "success" | "warning"): void };
}

declare global {
  interface Window {
    Telegram?: { WebApp?: WebApp };
  }
}

const TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js";
const SCRIPT_WAIT_MS = 4000; // telegram.org unreachable: go on with the URL fragment

/**
 * Telegram's WebApp object, loading Telegram's script first when it is not there yet; null when
 * telegram.org cannot be reached (the page then reads initData from the URL fragment). Loaded
 * from here rather than by a tag in the page, so that its failure is always heard.
 */
export async function webApp(): Promise<WebApp | null> {
  const present = window.Telegram?.WebApp;
  if (present) return present;
  await new Promise<void>((done) => {
    const script = document.createElement("script");
    script.src = TELEGRAM_SCRIPT;
    script.addEventListener("load", () => done());
    script.addEventListener("error", () => done());
    setTimeout(done, SCRIPT_WAIT_MS);
    document.head.append(script);
  });
  return window.Telegram?.WebApp ?? null;
}

/** The launch parameters Telegram puts in the fragment (`#tgWebAppData=...&...`). */
function fragment(): URLSearchParams {
  return new URLSearchParams(window.location.hash.replace(/^#/, ""));
}

/** The raw initData: from Telegram's object inside Telegram, else from the URL fragment. */
export function initData(app: WebApp | null): string {
  return app?.initData || fragment().get("tgWebAppData") || "";
}

/** Theme parameters and scheme: Telegram's, else the fragment's, else the device's preference. */
export function theme(app: WebApp | null): { params: ThemeParams; scheme: "light" | "dark" } {
  const fromFragment = fragment().get("tgWebAppThemeParams");
  let params: ThemeParams = app?.themeParams ?? {};
  if (!app && fromFragment) {
    try {
      params = JSON.parse(fromFragment) as ThemeParams;
    } catch {
      params = {};
    }
  }
  const dark = window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
  const scheme = app?.colorScheme ?? (params.bg_color ? darkness(params.bg_color) : dark ? "dark" : "light");
  return { params, scheme };
}

function darkness(color: string): "light" | "dark" {
  const hex = color.replace("#", "");
  const [r, g, b] = [0, 2, 4].map((at) => parseInt(hex.slice(at, at + 2), 16) || 0);
  return 0.299 * (r ?? 0) + 0.587 * (g ?? 0) + 0.114 * (b ?? 0) < 128 ? "dark" : "light";
}

/** Telegram's theme as CSS variables (`--tg-theme-bg-color`, ...) and `data-scheme` on <html>. */
export function applyTheme(app: WebApp | null): void {
  const { params, scheme } = theme(app);
  const root = document.documentElement;
  root.dataset.scheme = scheme;
  for (const [key, value] of Object.entries(params)) {
    if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
      root.style.setProperty(`--tg-theme-${key.replace(/_/g, "-")}`, value);
    }
  }
}

/** Ready, full height, and the theme followed when the person switches it in Telegram. */
export async function start(): Promise<WebApp | null> {
  const app = await webApp();
  applyTheme(app);
  app?.onEvent?.("themeChanged", () => applyTheme(app));
  try {
    // Telegram's bar above the app in the page's own background colour (clients since 6.1).
    app?.setHeaderColor?.("secondary_bg_color");
    app?.setBackgroundColor?.("secondary_bg_color");
  } catch {
    // An older client keeps its own colours.
  }
  app?.ready?.();
  app?.expand?.();
  return app;
}

export function haptic(app: WebApp | null, kind: "error" | "success" | "warning"): void {
  try {
    app?.HapticFeedback?.notificationOccurred(kind);
  } catch {
    // Older clients without haptics.
  }
}
