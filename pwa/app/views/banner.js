// The banner for alerts that wait while another screen shows: a new alert never takes the screen
// from the active job, from another alert still waiting for an answer, from the checklist or from
// a form (store.mayTakeScreen). It is announced here instead, on every screen, until it is
// answered, over or dismissed: Open, Silence alarm, Dismiss. An alert in the banner is shown on the
// phone (its address, with the alarm): the server is told so, as the alert's own screen tells it,
// so that the board does not count the firefighter as not reached.
//
// Several waiting scroll within a box a third of the screen high (styles.css .other-alerts). A
// tester saw the second cut off mid-line with no sign that there was more: while any is not wholly
// in view, a button at the foot of the box says how many more there are and scrolls to the next.
// The button sits under the scrolling list, not over it: a trial of the product on a 360x740 phone
// found it laid over the first banner's Open and Dismiss, which could not be tapped.
// Above them, unacknowledged messages from control about live jobs (messages.unreadForJobs). With
// audio locked, "Tap to sound alarm" as on the alert's screen (trial 11).

import { unlockAudio } from "../audio.js";
import { h } from "../dom.js";
import { categoryDetail, distanceFromText, waitingBannerText } from "../format.js";
import { isAcknowledged, unreadForJobs } from "../messages.js";
import { alertPath, parseHash } from "../router.js";
import { activeJob, incidentOf, waitingElsewhere } from "../store.js";
import { gotIt, messageMeta } from "./messages.js";
import { region } from "./parts.js";

/** Mounts the banner before `root` (the screens' container); returns a function to re-render. */
export function mountAlertBanner(root, ctx) {
  const { store, alarm } = ctx;
  const box = h("aside", { class: "other-alerts", "aria-label": "Other alerts" });
  const list = region("div", { class: "other-alerts-list" }); // the banners, scrolling
  const moreButton = h("button", { type: "button", class: "btn btn-small other-alerts-more", hidden: true, on: { click: showNext } });
  box.append(list, moreButton);
  box.hidden = true;
  root.before(box);

  /** The banners after the one being read (the first in view) that are not wholly in view: one
   *  taller than the box is scrolled through, not announced as another. */
  function below() {
    const top = list.scrollTop;
    const bottom = top + list.clientHeight;
    const banners = [...list.querySelectorAll(".other-alert")];
    const reading = banners.findIndex((banner) => banner.offsetTop + banner.offsetHeight > top + 1);
    return banners.filter((banner, index) => index > reading && banner.offsetTop + banner.offsetHeight > bottom + 1);
  }

  /** The list ends just inside the top of the first banner it cannot show whole, above that
   *  banner's text: no line is cut in half over "1 more alert below" (found by a browser trial on
   *  a 390x844 phone: the second banner's address, cut off there, read as covered by the button).
   *  Measured as the banners are drawn and the screen changes, not while the list is scrolled. */
  function endBetweenBanners() {
    list.style.maxHeight = "";
    if (box.hidden) return;
    const room = list.clientHeight;
    if (list.scrollHeight <= room + 1) return;
    const top = list.scrollTop;
    const items = [...list.children];
    const first = items.find((item) => item.offsetTop + item.offsetHeight > top);
    const next = items.find((item) => item.offsetTop + item.offsetHeight > top + room + 1);
    if (!next || next === first) return; // one taller than the list: scrolled through
    const peek = Math.max(0, Math.min(6, parseFloat(getComputedStyle(next).paddingTop) - 2));
    list.style.maxHeight = `${Math.max(0, next.offsetTop - top + peek)}px`;
  }

  function updateMore() {
    const more = box.hidden ? [] : below();
    moreButton.hidden = more.length === 0;
    const text = `${more.length} more alert${more.length === 1 ? "" : "s"} below ↓`;
    if (moreButton.textContent !== text) moreButton.textContent = text;
  }

  function showNext() {
    const next = below()[0];
    if (next) list.scrollTo({ top: next.offsetTop - 8 });
    updateMore();
  }

  function item(alert, job, route) {
    const state = store.state;
    const incident = incidentOf(state, alert);
    const jobIncident = job ? incidentOf(state, job) : null;
    const text = waitingBannerText({ job, jobIncident, incident, onHome: route.name === "home" });
    const detail = [categoryDetail(incident?.category), distanceFromText(alert)]
      .filter(Boolean)
      .join(" · ");
    const soundingFor = alarm.playing && !ctx.silenced.has(alert.id);
    const locked = alarm.wanted && !alarm.playing && !ctx.silenced.has(alert.id);
    return h(
      "div",
      { class: "notice danger other-alert", role: "alert" },
      h("p", { class: "other-alert-text", text }),
      h("p", { class: "other-alert-detail", text: job ? `New alert: ${incident?.address || "address not given"}${detail ? ` (${detail})` : ""}` : detail }),
      h(
        "div",
        { class: "row banner-actions" },
        h("a", { class: "btn btn-small", href: `#${alertPath(alert.id)}`, text: "Open" }),
        soundingFor
          ? h("button", { type: "button", class: "btn btn-small", text: "Silence alarm", on: { click: () => ctx.silence(alert.id) } })
          : null,
        locked
          ? h("button", {
              type: "button",
              class: "btn btn-small btn-sound",
              text: "Tap to sound alarm",
              on: {
                click: async () => {
                  await unlockAudio();
                  alarm.start();
                },
              },
            })
          : null,
        h("button", { type: "button", class: "btn btn-small", text: "Dismiss", on: { click: () => ctx.dismissAlert(alert.id) } }),
      ),
    );
  }

  function messageItem({ alert, incident, messages }) {
    const [newest] = messages;
    const title = `Message from control${messages.length > 1 ? ` (${messages.length} new)` : ""}: ${incident?.address || "your incident"}`;
    return h(
      "div",
      { class: "notice info other-message", role: "alert", dataset: { messageId: String(newest.id) } },
      h("p", { class: "message-banner-title", text: title }),
      h("p", { class: "message-text", text: newest.text }),
      h("p", { class: "message-meta", text: messageMeta(newest) }),
      h("div", { class: "row banner-actions" }, h("a", { class: "btn btn-small", href: `#${alertPath(alert.id)}`, text: "Open" }), gotIt(ctx, newest)),
    );
  }

  function render() {
    const state = store.state;
    const signedIn = (state.session === "authenticated" || state.session === "offline") && state.me?.responder;
    const route = parseHash(location.hash);
    const waiting = signedIn && route.name !== "login" ? waitingElsewhere(state, route, ctx.dismissed) : [];
    const told = signedIn && route.name !== "login" ? unreadForJobs(state, route) : [];
    const job = waiting.length ? activeJob(state) : null;
    box.hidden = waiting.length === 0 && told.length === 0;
    const key = waiting.map((alert) => {
      const incident = incidentOf(state, alert);
      return [alert.id, incident?.address, incident?.category, alert.distance_km, alert.distance_from, alarm.playing && !ctx.silenced.has(alert.id), alarm.wanted];
    });
    const toldKey = told.map(({ alert, incident, messages }) => [alert.id, incident?.address, messages.map((message) => [message.id, isAcknowledged(message)])]);
    list.show([key, toldKey, route.name === "home", job?.id, job ? incidentOf(state, job)?.address : null], () => [
      ...told.map(messageItem),
      ...waiting.map((alert) => item(alert, job, route)),
    ]);
    updateMore(); // the button first: the list's room is what it leaves
    endBetweenBanners();
    updateMore();
    if (document.visibilityState === "visible") {
      for (const alert of waiting) ctx.sync?.acknowledge(alert.id); // once each: sync keeps which
    }
    // What the page scrolls to (a form's list of problems, a field given the focus, a cancel's
    // notice) stops below the banner, not under it (found by trying the product).
    document.documentElement.style.scrollPaddingTop = box.hidden ? "" : `${box.offsetHeight}px`;
  }

  list.addEventListener("scroll", updateMore, { passive: true });
  window.addEventListener("resize", () => (endBetweenBanners(), updateMore()));
  store.subscribe(render);
  alarm.onChange(render);
  window.addEventListener("hashchange", render);
  document.addEventListener("visibilitychange", render);
  render();
  return render;
}
