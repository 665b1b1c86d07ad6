// After the call: attendance, outcome and welfare forms. Not built yet: the screen says so
// plainly, so nobody thinks they have filed something they have not.

import { h } from "../dom.js";
import { alertPath } from "../router.js";
import { topbar } from "./parts.js";

const FORMS = [
  ["Attendance form", "Who attended, with which appliance, and the times. Times from the checklist will be filled in for you."],
  ["Outcome form", "What was done and the outcome at handover (Utstein-style, no patient names)."],
  ["Welfare check-in", "How you are after the call, and whether you would like a welfare or TRiM follow-up."],
];

export function formsView(root, { id }, ctx) {
  root.append(
    h(
      "main",
      { class: "page" },
      topbar(ctx.store.state, { path: alertPath(id), label: "Alert" }),
      h("h1", { text: "Forms after the call" }),
      h("p", { class: "notice info", text: "Coming soon: these forms are not available in the app yet. Nothing is filed from this screen." }),
      h(
        "ul",
        { class: "form-list" },
        FORMS.map(([title, text]) =>
          h(
            "li",
            { class: "card" },
            h("h2", { text: title }),
            h("p", { text }),
            h("button", { type: "button", class: "btn btn-quiet", disabled: true, "aria-disabled": "true", text: `${title}: coming soon` }),
          ),
        ),
      ),
      h("p", { class: "hint", text: "If the call affected you, talk to your watch manager or the welfare team now: you do not need to wait for the form." }),
    ),
  );
}
