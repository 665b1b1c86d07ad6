// The board's "New incident" form (wall.js): the place a postcode lookup put in the form goes with
// that postcode. Found trying the board: after one postcode was found, a second one that the table
// lacks (or one typed over the first without Find) left the first postcode's place in the form,
// and the incident would have been created, and crews sent, there.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import "./support/app-paths.mjs";

const { NO_NETWORK, api, createBody, forgetPostcodePlace, rememberPostcodePlace, retiredPostcodeText } = await import("../../backend/dispatch/static/dispatch/wall.js");

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

// Found by a tester: NR1 9ZZ (terminated) filled the place silently; docs/postcodes.md promises
// "retired postcode: check the address".
describe("a retired postcode found", () => {
  it("is said to be retired, since when, with the address to check", () => {
    const text = retiredPostcodeText({ postcode: "NR1 9ZZ", latitude: 52.6255, longitude: 1.2999, terminated: "201512" });
    assert.equal(text, "NR1 9ZZ is a retired postcode (not in use since December 2015): check the address with the caller. Its last known place is filled in.");
    assert.match(text, /retired postcode.*check the address/);
  });

  it("says nothing of a postcode in use", () => {
    assert.equal(retiredPostcodeText(NR2_1TF), "");
    assert.equal(retiredPostcodeText({ ...NR2_1TF, terminated: "" }), "");
  });

  it("is still said to be retired when its month is not in the directory's form", () => {
    assert.equal(retiredPostcodeText({ postcode: "NR1 9ZZ", terminated: "2015" }), "NR1 9ZZ is a retired postcode (not in use): check the address with the caller. Its last known place is filled in.");
  });
});

describe("the new-incident form's own checks", () => {
  const filled = (overrides) => {
    const values = { cad_reference: "EEAST-1", address: "3 Elm Hill", latitude: "52.63", longitude: "1.29", ...overrides };
    return { elements: Object.fromEntries(Object.entries(values).map(([name, value]) => [name, { value }])) };
  };

  it("names a coordinate that is not a number rather than asking for the place", () => {
    const { error } = createBody(filled({ latitude: "95", longitude: "abc" }));
    assert.equal(error, 'The longitude "abc" is not a number.');
  });

  it("names both coordinates when neither is a number, not only the first", () => {
    const { error } = createBody(filled({ latitude: "abc", longitude: "1,29" }));
    assert.equal(error, 'The latitude "abc" is not a number. The longitude "1,29" is not a number.');
  });

  it("still asks for what is missing, and names what is wrong beside it", () => {
    const { error } = createBody(filled({ address: "", latitude: "x", longitude: "" }));
    assert.equal(error, 'Give the address, the longitude. The latitude "x" is not a number.');
    const nowhere = createBody(filled({ address: "", latitude: "", longitude: "" }));
    assert.equal(nowhere.error, "Give the address, the place (a postcode, a click on the map, or latitude and longitude).");
  });

  // Found by a tester: a latitude typed and the longitude empty was answered "Give the place (a
  // postcode, a click on the map, or latitude and longitude)."
  it("names the one coordinate missing when the other is typed", () => {
    assert.equal(createBody(filled({ longitude: "" })).error, "Give the longitude.");
    assert.equal(createBody(filled({ latitude: " " })).error, "Give the latitude.");
    assert.equal(createBody(filled({ cad_reference: "", latitude: "" })).error, "Give the CAD reference, the latitude.");
  });

  it("leaves a number out of range to the server, which names the field", () => {
    assert.equal(createBody(filled({ latitude: "95" })).data.latitude, 95);
  });
});

describe("the board's calls with no network", () => {
  it("say so in words, not the browser's 'Failed to fetch'", async () => {
    const realFetch = globalThis.fetch;
    globalThis.fetch = async () => {
      throw new TypeError("Failed to fetch");
    };
    try {
      await assert.rejects(api("token")("POST", "/api/v1/incidents/", {}), (error) => error.message === NO_NETWORK);
    } finally {
      globalThis.fetch = realFetch;
    }
    assert.match(NO_NETWORK, /could not be reached/);
  });
});
