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

  // src/card.ts
  var LABELS = {
    title: "Моя карта",
    empty: "Активных скидок пока нет.",
    birthdayPrompt: "Укажите день рождения, например 15.03.1990, и получите подарок.",
    birthdaySave: "Сохранить",
    profile: "Профиль",
    birthday: "День рождения",
    since: "С нами с",
    subscriptions: "Рассылки и подарки",
    lastDay: "Последний день",
    count: "",
    noBirthday: "—",
    subscribed: "",
    unsubscribed: ""
  };
  async function main() {
    const app = await start();
    const api = new Api(initData(app));
    const root = byId("app");
    try {
      render(root, await api.get("card"), api, app);
    } catch (error) {
      const refusal2 = h("p", { id: "refusal", class: "refusal", role: "alert" }, messageOf(error));
      root.replaceChildren(h("header", {}, h("h1", {}, document.title)), refusal2);
    }
    root.removeAttribute("aria-busy");
  }
  function render(root, card, api, app, said) {
    const text = (key) => card.texts[key] || LABELS[key];
    document.title = text("title");
    const shown = h("p", { id: "notice", class: "notice", role: "status" });
    notice(shown, said?.where === "top" ? said.text : "");
    const changed = (next, where) => {
      haptic(app, "success");
      render(root, next.card, api, app, { text: next.message ?? "", where });
      if (where === "top") window.scrollTo({ top: 0, behavior: "smooth" });
    };
    const sections = [
      h(
        "header",
        {},
        h("h1", {}, text("title")),
        // The count, unless there is nothing to count (the empty card says so itself).
        card.discounts.length > 0 && h("p", { class: "hint" }, text("count") || card.customer.firstName)
      ),
      shown,
      discounts(card, text("empty"))
    ];
    if (!card.customer.birthday) sections.push(birthdayForm(api, app, text("birthdayPrompt"), changed));
    const byTheSwitch = said?.where === "profile" ? said.text : "";
    root.replaceChildren(...sections, profile(card, text, api, app, changed, byTheSwitch));
  }
  function discounts(card, empty) {
    if (card.discounts.length === 0) {
      return h("section", { id: "discounts" }, h("p", { id: "empty", class: "empty" }, empty));
    }
    return h(
      "section",
      { id: "discounts" },
      ...card.discounts.map(
        (discount) => h(
          "article",
          { class: "discount", "data-code": discount.code },
          h(
            "div",
            { class: "discount-head" },
            h("span", { class: "percent" }, `−${discount.percent}%`),
            h("span", { class: "kind" }, discount.kindLabel)
          ),
          h("img", { class: "qr", src: discount.qr, alt: discount.code, width: "220", height: "220" }),
          h("p", { class: "code" }, discount.code),
          h("p", { class: "last-day" }, `${LABELS.lastDay}: ${day(discount.lastDay)}`),
          h("p", { class: "caption" }, discount.caption)
        )
      )
    );
  }
  function birthdayForm(api, app, prompt, changed) {
    const input = h("input", {
      id: "birthday-input",
      name: "birthday",
      type: "text",
      inputmode: "numeric",
      autocomplete: "bday",
      placeholder: "ДД.ММ.ГГГГ",
      required: true
    });
    input.addEventListener("input", () => {
      if (/^[\d.]*$/.test(input.value)) {
        const digits = input.value.replace(/\D/g, "").slice(0, 8);
        input.value = [digits.slice(0, 2), digits.slice(2, 4), digits.slice(4)].filter(Boolean).join(".");
      }
    });
    const button = h("button", { type: "submit", class: "primary" }, LABELS.birthdaySave);
    const error = h("p", { id: "birthday-error", class: "notice", role: "alert", hidden: true });
    const form = h(
      "form",
      { id: "birthday", class: "panel" },
      h("label", { for: "birthday-input" }, prompt),
      h("div", { class: "row" }, input, button),
      error
    );
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      button.disabled = true;
      try {
        changed(await api.post("birthday", { birthday: input.value }), "top");
      } catch (failure) {
        haptic(app, "error");
        notice(error, messageOf(failure), "error");
        button.disabled = false;
      }
    });
    return form;
  }
  function profile(card, text, api, app, changed, said) {
    const { customer } = card;
    const toggle = h("input", { id: "subscribed", type: "checkbox", role: "switch", class: "switch" });
    toggle.checked = customer.subscribed;
    const error = h("p", { id: "subscription-notice", class: "notice", role: "status" });
    notice(error, said);
    toggle.addEventListener("change", async () => {
      toggle.disabled = true;
      try {
        changed(await api.post("subscription", { subscribed: toggle.checked }), "profile");
      } catch (failure) {
        haptic(app, "error");
        toggle.checked = !toggle.checked;
        toggle.disabled = false;
        notice(error, messageOf(failure), "error");
      }
    });
    const line = (label, value, id) => h("div", { class: "line" }, h("dt", {}, label), h("dd", { id }, value));
    return h(
      "section",
      { id: "profile", class: "panel" },
      h("h2", {}, LABELS.profile),
      h(
        "dl",
        {},
        line(LABELS.birthday, customer.birthday ? day(customer.birthday) : text("noBirthday"), "profile-birthday"),
        line(LABELS.since, day(customer.since), "profile-since")
      ),
      h(
        "label",
        { class: "line switch-line", for: "subscribed" },
        h(
          "span",
          {},
          LABELS.subscriptions,
          h("small", { id: "subscription-status", class: "hint" }, text(customer.subscribed ? "subscribed" : "unsubscribed"))
        ),
        toggle
      ),
      error
    );
  }
  void main();
})();
