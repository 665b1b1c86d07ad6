// The board's "New incident" form (wall.js): the place a postcode lookup put in the form goes with
// that postcode. Found trying the board: after one postcode was found, a second one that the table
// lacks (or one typed over the first without Find) left the first postcode's place in the form,
// and the incident would have been created, and crews sent, there.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const { forgetPostcodePlace, rememberPostcodePlace } = await import("../../backend/dispatch/static/dispatch/wall.js");

function form({ latitude = "", longitude = "", postcode = "" } = {}) {
  return { dataset: {}, elements: { latitude: { value: latitude }, longitude: { value: longitude }, postcode: { value: postcode } } };
}

const NR2_1TF = { postcode: "NR2 1TF", latitude: 52.632808, longitude: 1.318554 };

describe("the place of a postcode in the new-incident form", () => {
  it("fills the place and the postcode as the table writes it", () => {
    const create = form({ postcode: "nr21tf" });
    rememberPostcodePlace(create, NR2_1TF);
    assert.deepEqual(
      [create.elements.latitude.value, create.elements.longitude.value, create.elements.postcode.value],
      [52.632808, 1.318554, "NR2 1TF"],
    );
  });

  it("forgets the place when the postcode changes or is not found", () => {
    const create = form();
    rememberPostcodePlace(create, NR2_1TF);
    create.elements.postcode.value = "ZZ99 9ZZ";
    forgetPostcodePlace(create);
    assert.deepEqual([create.elements.latitude.value, create.elements.longitude.value], ["", ""]);
  });

  it("keeps a place the coordinator clicked or typed since the lookup", () => {
    const create = form();
    rememberPostcodePlace(create, NR2_1TF);
    create.elements.latitude.value = "52.7530";
    create.elements.longitude.value = "0.4050";
    forgetPostcodePlace(create);
    assert.deepEqual([create.elements.latitude.value, create.elements.longitude.value], ["52.7530", "0.4050"]);
  });

  it("keeps a place that never came from a postcode", () => {
    const create = form({ latitude: "52.6", longitude: "1.29" });
    forgetPostcodePlace(create);
    assert.deepEqual([create.elements.latitude.value, create.elements.longitude.value], ["52.6", "1.29"]);
  });
});
