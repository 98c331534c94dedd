"use strict";
(() => {
  var __defProp = Object.defineProperty;
  var __defNormalProp = (obj, key, value) => key in obj ? __defProp(obj, key, { enumerable: true, configurable: true, writable: true, value }) : obj[key] = value;
  var __publicField = (obj, key, value) => __defNormalProp(obj, typeof key !== "symbol" ? key + "" : key, value);

  // src/api.ts
  var ApiError = class extends Error {
    constructor(status, code, message, retryAfterSeconds) {
      super(message);
      __publicField(this, "status", status);
      __publicField(this, "code", code);
      __publicField(this, "retryAfterSeconds", retryAfterSeconds);
    }
  };
  var OFFLINE = "Нет связи с сервером. Проверьте интернет и попробуйте ещё раз.";
  var Api = class {
    constructor(initData2) {
      __publicField(this, "initData", initData2);
    }
    get(path) {
      return this.call("GET", path);
    }
    post(path, body) {
      return this.call("POST", path, body);
    }
    async call(method, path, body) {
      let response;
      try {
        response = await fetch(`/app/api/${path}`, {
          method,
          headers: {
            Authorization: `tma ${this.initData}`,
            ...body === void 0 ? {} : { "Content-Type": "application/json" }
          },
          body: body === void 0 ? null : JSON.stringify(body)
        });
      } catch {
        throw new ApiError(0, "NETWORK", OFFLINE, null);
      }
      const answer = await response.json().catch(() => null);
      if (response.ok && answer) return answer;
      throw refusal(response.status, answer);
    }
  };
  function refusal(status, answer) {
    const error = answer?.error ?? {};
    const retry = error.retry_after_seconds ?? answer?.retry_after_seconds ?? null;
    return new ApiError(
      status,
      typeof error.code === "string" ? error.code : `HTTP_${status}`,
      typeof error.message === "string" && error.message ? error.message : OFFLINE,
      typeof retry === "number" ? retry : null
    );
  }
  function messageOf(error) {
    if (error instanceof ApiError) return error.message;
    console.error(error);
    return OFFLINE;
  }

  // src/dom.ts
  function h(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === true) element.setAttribute(name, "");
      else if (typeof value === "string") element.setAttribute(name, value);
    }
    for (const child of children) {
      if (child) element.append(child);
    }
    return element;
  }
  function byId(id) {
    const element = document.getElementById(id);
    if (!element) throw new Error(`#${id} is missing from the page`);
    return element;
  }
  function day(iso) {
    const match = /^(\d{4})-(\d{2})-(\d{2})/.exec(iso ?? "");
    return match ? `${match[3]}.${match[2]}.${match[1]}` : "";
  }
  function notice(target, text, kind = "ok") {
    target.textContent = text;
    target.dataset.kind = kind;
    target.hidden = !text;
  }

  // src/telegram.ts
  var TELEGRAM_SCRIPT = "https://telegram.org/js/telegram-web-app.js";
  var SCRIPT_WAIT_MS = 4e3;
  async function webApp() {
    const present = window.Telegram?.WebApp;
    if (present) return present;
    await new Promise((done) => {
      const script = document.createElement("script");
      script.src = TELEGRAM_SCRIPT;
      script.addEventListener("load", () => done());
      script.addEventListener("error", () => done());
      setTimeout(done, SCRIPT_WAIT_MS);
      document.head.append(script);
    });
    return window.Telegram?.WebApp ?? null;
  }
  function fragment() {
    return new URLSearchParams(window.location.hash.replace(/^#/, ""));
  }
  function initData(app) {
    return app?.initData || fragment().get("tgWebAppData") || "";
  }
  function theme(app) {
    const fromFragment = fragment().get("tgWebAppThemeParams");
    let params = app?.themeParams ?? {};
    if (!app && fromFragment) {
      try {
        params = JSON.parse(fromFragment);
      } catch {
        params = {};
      }
    }
    const dark = window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
    const scheme = app?.colorScheme ?? (params.bg_color ? darkness(params.bg_color) : dark ? "dark" : "light");
    return { params, scheme };
  }
  function darkness(color) {
    const hex = color.replace("#", "");
    const [r, g, b] = [0, 2, 4].map((at) => parseInt(hex.slice(at, at + 2), 16) || 0);
    return 0.299 * (r ?? 0) + 0.587 * (g ?? 0) + 0.114 * (b ?? 0) < 128 ? "dark" : "light";
  }
  function applyTheme(app) {
    const { params, scheme } = theme(app);
    const root = document.documentElement;
    root.dataset.scheme = scheme;
    for (const [key, value] of Object.entries(params)) {
      if (typeof value === "string" && /^#[0-9a-fA-F]{3,8}$/.test(value)) {
        root.style.setProperty(`--tg-theme-${key.replace(/_/g, "-")}`, value);
      }
    }
  }
  async function start() {
    const app = await webApp();
    applyTheme(app);
    app?.onEvent?.("themeChanged", () => applyTheme(app));
    try {
      app?.setHeaderColor?.("secondary_bg_color");
      app?.setBackgroundColor?.("secondary_bg_color");
    } catch {
    }
    app?.ready?.();
    app?.expand?.();
    return app;
  }
  function haptic(app, kind) {
    try {
      app?.HapticFeedback?.notificationOccurred(kind);
    } catch {
    }
  }

  // src/till.ts
  var LABELS = {
    title: "Касса",
    scan: "Сканировать",
    scanHint: "Наведите камеру на QR-код покупателя",
    noScanner: "Сканер недоступен в этой версии Telegram: введите код.",
    code: "Код скидки",
    find: "Найти",
    amount: "Сумма покупки",
    toPay: "К оплате",
    confirm: "Подтвердить",
    next: "Следующий покупатель",
    lastDay: "Последний день"
  };
  var QUOTE_DELAY_MS = 600;
  var TillPage = class {
    constructor(root, api, app, till) {
      __publicField(this, "root", root);
      __publicField(this, "api", api);
      __publicField(this, "app", app);
      __publicField(this, "till", till);
      __publicField(this, "onMain", null);
      app?.MainButton?.onClick(() => this.onMain?.());
      document.title = till.texts.title || LABELS.title;
    }
    /** Ready for the next customer: the scan button and the typed-code fallback. */
    idle(message = "") {
      this.mainButton(null);
      const scan = h("button", { id: "scan", type: "button", class: "primary big" }, LABELS.scan);
      const input = h("input", {
        id: "code-input",
        name: "code",
        type: "text",
        autocomplete: "off",
        autocapitalize: "characters",
        spellcheck: "false",
        placeholder: LABELS.code,
        "aria-label": LABELS.code
      });
      const form = h(
        "form",
        { id: "lookup", class: "row" },
        input,
        h("button", { type: "submit", class: "secondary" }, LABELS.find)
      );
      const shown = h("p", { id: "notice", class: "notice", role: "alert" });
      notice(shown, message, "error");
      scan.addEventListener("click", () => this.scan(shown));
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (input.value.trim()) void this.lookUp(input.value.trim(), shown);
      });
      this.show(h("section", { id: "idle", class: "panel" }, scan, form, shown));
    }
    scan(shown) {
      const scanner = this.app?.showScanQrPopup;
      if (!scanner) {
        notice(shown, LABELS.noScanner, "error");
        return;
      }
      try {
        scanner.call(this.app, { text: LABELS.scanHint }, (text) => {
          void this.lookUp(text.trim(), shown);
          return true;
        });
      } catch {
        notice(shown, LABELS.noScanner, "error");
      }
    }
    async lookUp(code, shown) {
      try {
        this.found(await this.api.post("till/lookup", { code }));
      } catch (error) {
        haptic(this.app, "error");
        notice(shown, messageOf(error), "error");
      }
    }
    /** The discount on screen; the amount typed gives the price to pay; then confirm. */
    found(offer) {
      const amount = h("input", {
        id: "amount",
        name: "amount",
        type: "text",
        inputmode: "decimal",
        autocomplete: "off",
        placeholder: "0",
        "aria-label": LABELS.amount
      });
      const toPay = h("p", { id: "to-pay", class: "to-pay", hidden: true });
      const said = h("p", { id: "offer-message", class: "message" }, offer.message);
      const error = h("p", { id: "amount-error", class: "notice", role: "alert", hidden: true });
      const confirm = h(
        "button",
        { id: "confirm", type: "submit", class: "primary big", disabled: true },
        this.confirmLabel()
      );
      const cancel = h("button", { id: "next", type: "button", class: "secondary" }, LABELS.next);
      const form = h(
        "form",
        { id: "purchase", class: "panel" },
        h("label", { for: "amount" }, LABELS.amount),
        amount,
        toPay,
        error,
        confirm,
        cancel
      );
      let asked = 0;
      let sent = -1;
      let timer;
      const quote = async (mine) => {
        sent = mine;
        try {
          const priced = await this.api.post("till/quote", { code: offer.code, amount: amount.value });
          if (mine !== asked) return;
          toPay.replaceChildren(h("span", {}, LABELS.toPay), h("strong", {}, rubles(priced.toPay)));
          toPay.hidden = false;
          said.textContent = priced.message;
          notice(error, "");
          confirm.disabled = false;
          this.mainButton(this.confirmLabel());
        } catch (failure) {
          if (mine !== asked) return;
          notice(error, messageOf(failure), "error");
        }
      };
      amount.addEventListener("input", () => {
        asked += 1;
        confirm.disabled = true;
        this.mainButton(null);
        toPay.hidden = true;
        said.textContent = offer.message;
        clearTimeout(timer);
        if (amount.value.trim()) timer = setTimeout(() => void quote(asked), QUOTE_DELAY_MS);
        else notice(error, "");
      });
      const quoteNow = () => {
        clearTimeout(timer);
        if (amount.value.trim() && sent !== asked) void quote(asked);
      };
      const redeem = () => {
        if (!confirm.disabled) void this.redeem(offer, amount.value, [confirm, cancel, amount], error);
      };
      amount.addEventListener("change", quoteNow);
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        if (confirm.disabled) quoteNow();
        else redeem();
      });
      this.onMain = redeem;
      cancel.addEventListener("click", () => this.idle());
      this.show(this.offerPanel(offer, said), form);
      amount.focus();
    }
    confirmLabel() {
      return this.till.texts.confirm || LABELS.confirm;
    }
    offerPanel(offer, said) {
      return h(
        "section",
        { id: "offer", class: "panel discount", "data-code": offer.code },
        h(
          "div",
          { class: "discount-head" },
          h("span", { class: "percent" }, `−${offer.percent}%`),
          h("span", { class: "kind" }, offer.kindLabel)
        ),
        h("p", { class: "code" }, offer.code),
        h("p", { class: "last-day" }, `${LABELS.lastDay}: ${day(offer.lastDay)}`),
        said
      );
    }
    async redeem(offer, amount, controls, error) {
      for (const control of controls) control.disabled = true;
      this.app?.MainButton?.showProgress();
      try {
        const done = await this.api.post("till/redeem", { code: offer.code, amount });
        haptic(this.app, "success");
        this.result(done.message, "ok", done.toPay);
      } catch (failure) {
        haptic(this.app, "error");
        if (failure instanceof ApiError && failure.status === 422) {
          for (const control of controls) control.disabled = false;
          notice(error, messageOf(failure), "error");
        } else {
          this.result(messageOf(failure), "error");
        }
      } finally {
        this.app?.MainButton?.hideProgress();
      }
    }
    /** What happened (redeemed, or the refusal), and the way to the next customer. */
    result(message, kind, toPay) {
      this.mainButton(LABELS.next);
      this.onMain = () => this.idle();
      const next = h("button", { id: "next", type: "button", class: "primary big" }, LABELS.next);
      next.addEventListener("click", () => this.idle());
      this.show(
        h(
          "section",
          { id: "result", class: `panel result ${kind}`, "data-kind": kind, role: kind === "error" ? "alert" : "status" },
          toPay ? h("p", { class: "to-pay" }, h("span", {}, LABELS.toPay), h("strong", {}, rubles(toPay))) : null,
          h("p", { class: "message" }, message)
        ),
        next
      );
    }
    mainButton(text) {
      const button = this.app?.MainButton;
      if (!button) return;
      if (text) button.setText(text).enable().show();
      else button.hide();
    }
    show(...sections) {
      const { name, store } = this.till.cashier;
      this.root.replaceChildren(
        h(
          "header",
          {},
          h("h1", {}, this.till.texts.title || LABELS.title),
          h("p", { class: "hint" }, [name, store].filter(Boolean).join(" · "))
        ),
        ...sections
      );
    }
  };
  function rubles(value) {
    const number = Number(value);
    if (!Number.isFinite(number)) return value;
    return new Intl.NumberFormat("ru-RU", { style: "currency", currency: "RUB" }).format(number);
  }
  async function main() {
    const app = await start();
    const api = new Api(initData(app));
    const root = byId("app");
    try {
      new TillPage(root, api, app, await api.get("till")).idle();
    } catch (error) {
      const refusal2 = h("p", { id: "refusal", class: "refusal", role: "alert" }, messageOf(error));
      root.replaceChildren(h("header", {}, h("h1", {}, document.title)), refusal2);
    }
    root.removeAttribute("aria-busy");
  }
  void main();
})();
