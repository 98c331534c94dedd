// The cashier's till (opened from the cashier bot's menu button): scan the customer's QR with
// Telegram's scanner (or type the code), see the discount, type the amount and see the price to
// pay, confirm. The server does what the cashier bot does (same service, refusals, limits) and
// sends the bot's texts; the page shows them as they come.
import { Api, ApiError, messageOf } from "./api";
import { byId, day, h, notice } from "./dom";
import { haptic, initData, start, type WebApp } from "./telegram";

interface Till {
  cashier: { name: string; store: string | null };
  texts: Record<string, string | undefined>;
}

interface Offer {
  code: string;
  percent: number;
  kind: string;
  kindLabel: string;
  lastDay: string;
  message: string;
}

interface Quote {
  amount: string;
  discount: string;
  toPay: string;
  message: string;
}

interface Redeemed {
  message: string;
  toPay?: string;
}

const LABELS = {
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
  lastDay: "Последний день",
};
// Each quote counts as a look-up against the cashier's per-minute limit, as in the bot: ask
// once the typing pauses.
const QUOTE_DELAY_MS = 600;

class TillPage {
  private onMain: (() => void) | null = null;

  constructor(
    private readonly root: HTMLElement,
    private readonly api: Api,
    private readonly app: WebApp | null,
    private readonly till: Till,
  ) {
    app?.MainButton?.onClick(() => this.onMain?.());
    document.title = till.texts.title || LABELS.title;
  }

  /** Ready for the next customer: the scan button and the typed-code fallback. */
  idle(message = ""): void {
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
      "aria-label": LABELS.code,
    });
    const form = h(
      "form",
      { id: "lookup", class: "row" },
      input,
      h("button", { type: "submit", class: "secondary" }, LABELS.find),
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

  private scan(shown: HTMLElement): void {
    const scanner = this.app?.showScanQrPopup;
    if (!scanner) {
      notice(shown, LABELS.noScanner, "error");
      return;
    }
    try {
      scanner.call(this.app, { text: LABELS.scanHint }, (text: string) => {
        void this.lookUp(text.trim(), shown);
        return true; // closes the popup: one code per customer
      });
    } catch {
      notice(shown, LABELS.noScanner, "error");
    }
  }

  private async lookUp(code: string, shown: HTMLElement): Promise<void> {
    try {
      this.found(await this.api.post<Offer>("till/lookup", { code }));
    } catch (error) {
      haptic(this.app, "error");
      notice(shown, messageOf(error), "error");
    }
  }

  /** The discount on screen; the amount typed gives the price to pay; then confirm. */
  private found(offer: Offer): void {
    const amount = h("input", {
      id: "amount",
      name: "amount",
      type: "text",
      inputmode: "decimal",
      autocomplete: "off",
      placeholder: "0",
      "aria-label": LABELS.amount,
    });
    const toPay = h("p", { id: "to-pay", class: "to-pay", hidden: true });
    const said = h("p", { id: "offer-message", class: "message" }, offer.message);
    const error = h("p", { id: "amount-error", class: "notice", role: "alert", hidden: true });
    const confirm = h(
      "button",
      { id: "confirm", type: "submit", class: "primary big", disabled: true },
      this.confirmLabel(),
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
      cancel,
    );
    let asked = 0; // amounts typed so far; only the latest one's quote is shown
    let sent = -1; // the latest amount a quote was asked for
    let timer: ReturnType<typeof setTimeout> | undefined;
    const quote = async (mine: number) => {
      sent = mine;
      try {
        const priced = await this.api.post<Quote>("till/quote", { code: offer.code, amount: amount.value });
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
    amount.addEventListener("change", quoteNow); // the keyboard closed: no need to wait
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

  private confirmLabel(): string {
    return this.till.texts.confirm || LABELS.confirm;
  }

  private offerPanel(offer: Offer, said: HTMLElement): HTMLElement {
    return h(
      "section",
      { id: "offer", class: "panel discount", "data-code": offer.code },
      h(
        "div",
        { class: "discount-head" },
        h("span", { class: "percent" }, `−${offer.percent}%`),
        h("span", { class: "kind" }, offer.kindLabel),
      ),
      h("p", { class: "code" }, offer.code),
      h("p", { class: "last-day" }, `${LABELS.lastDay}: ${day(offer.lastDay)}`),
      said,
    );
  }

  private async redeem(
    offer: Offer,
    amount: string,
    controls: (HTMLButtonElement | HTMLInputElement)[],
    error: HTMLElement,
  ): Promise<void> {
    for (const control of controls) control.disabled = true;
    this.app?.MainButton?.showProgress();
    try {
      const done = await this.api.post<Redeemed>("till/redeem", { code: offer.code, amount });
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
  private result(message: string, kind: "ok" | "error", toPay?: string): void {
    this.mainButton(LABELS.next);
    this.onMain = () => this.idle();
    const next = h("button", { id: "next", type: "button", class: "primary big" }, LABELS.next);
    next.addEventListener("click", () => this.idle());
    this.show(
      h(
        "section",
        { id: "result", class: `panel result ${kind}`, "data-kind": kind, role: kind === "error" ? "alert" : "status" },
        toPay ? h("p", { class: "to-pay" }, h("span", {}, LABELS.toPay), h("strong", {}, rubles(toPay))) : null,
        h("p", { class: "message" }, message),
      ),
      next,
    );
  }

  private mainButton(text: string | null): void {
    const button = this.app?.MainButton;
    if (!button) return;
    if (text) button.setText(text).enable().show();
    else button.hide();
  }

  private show(...sections: HTMLElement[]): void {
    const { name, store } = this.till.cashier;
    this.root.replaceChildren(
      h(
        "header",
        {},
        h("h1", {}, this.till.texts.title || LABELS.title),
        h("p", { class: "hint" }, [name, store].filter(Boolean).join(" · ")),
      ),
      ...sections,
    );
  }
}

/** "1062.50" as «1 062,50 ₽». */
function rubles(value: string): string {
  const number = Number(value);
  if (!Number.isFinite(number)) return value;
  return new Intl.NumberFormat("ru-RU", { style: "currency", currency: "RUB" }).format(number);
}

async function main(): Promise<void> {
  const app = await start();
  const api = new Api(initData(app));
  const root = byId<HTMLElement>("app");
  try {
    new TillPage(root, api, app, await api.get<Till>("till")).idle();
  } catch (error) {
    const refusal = h("p", { id: "refusal", class: "refusal", role: "alert" }, messageOf(error));
    root.replaceChildren(h("header", {}, h("h1", {}, document.title)), refusal);
  }
  root.removeAttribute("aria-busy");
}

void main();
