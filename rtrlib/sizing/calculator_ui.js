/* rtr-book sizing calculator: the page controls (needs calculator.js first).
 *
 * Acts only inside elements marked data-rtr-sizing (the markup comes from
 * rtrlib/sizing/calculator.py); every control is found by its data-role inside that element,
 * so a page may hold several calculators. Messages (refused input, normalised frequencies,
 * ties at the cut) go to the element's ARIA live region; a refused field gets aria-invalid.
 */
(function (global) {
  "use strict";
  var S = global.RTRSizing;
  if (!S || !global.document) { return; }
  if (global.RTRSizingUI) { global.RTRSizingUI.mountAll(); return; }
  var SVGNS = "http://www.w3.org/2000/svg", MAX_DRAWN = 40;
  var FIELD_ROLE = { frequencies: "freqs", n_tasks: "n-tasks", zipf_exponent: "zipf",
                     spectra: "spectra", features_per_task: "m", decay: "decay",
                     width: "width", task: "task" };

  function fmt(x) {
    if (x === 0) { return "0"; }
    var s = Number(x).toPrecision(4);
    if (s.indexOf("e") < 0 && s.indexOf(".") >= 0) { s = s.replace(/0+$/, "").replace(/\.$/, ""); }
    return s;
  }

  function el(tag, attrs, text) {
    var e = global.document.createElement(tag);
    for (var a in attrs) { if (attrs.hasOwnProperty(a)) { e.setAttribute(a, attrs[a]); } }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function svgEl(tag, attrs, text) {
    var e = global.document.createElementNS(SVGNS, tag);
    for (var a in attrs) { if (attrs.hasOwnProperty(a)) { e.setAttribute(a, attrs[a]); } }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function intValue(root, role, name, label) {
    var raw = root.querySelector('[data-role="' + role + '"]').value.trim();
    if (!/^[+-]?\d+$/.test(raw)) {
      throw new S.SizingError(name, label + " must be a whole number (got \"" + raw + "\").");
    }
    return Number(raw);
  }

  function numValue(root, role, name, label) {
    var raw = root.querySelector('[data-role="' + role + '"]').value.trim();
    var v = S.parseNumbers(raw, name, label);
    if (v.length !== 1) { throw new S.SizingError(name, label + " must be one number."); }
    return v[0];
  }

  function mode(root, name) {
    var r = root.querySelector('input[data-role="' + name + '"]:checked');
    return r ? r.value : "list";
  }

  function read(root) {
    var freqs = mode(root, "freq-mode") === "zipf"
      ? S.zipfFrequencies(intValue(root, "n-tasks", "n_tasks", "Number of tasks K"),
                          numValue(root, "zipf", "zipf_exponent", "Zipf exponent a"))
      : S.parseNumbers(root.querySelector('[data-role="freqs"]').value, "frequencies",
                       "Frequencies");
    var spectra = mode(root, "spec-mode") === "power"
      ? S.powerLawSpectra(freqs.length, intValue(root, "m", "features_per_task",
                                                 "Features per task m"),
                          numValue(root, "decay", "decay", "Decay exponent b"))
      : S.parseSpectra(root.querySelector('[data-role="spectra"]').value);
    var width = intValue(root, "width", "width", "Width N");
    var task = intValue(root, "task", "task", "Chosen task k");
    var result = S.compute(freqs, spectra, width);
    if (task < 1 || task > freqs.length) {
      throw new S.SizingError("task", "Chosen task k must be a whole number from 1 to " +
                              freqs.length + " (the number of tasks).");
    }
    return { freqs: freqs, spectra: spectra, result: result, task: task - 1 };
  }

  function say(root, lines, isError) {
    var box = root.querySelector('[data-role="messages"]');
    box.textContent = "";
    box.className = "rtr-sizing-messages" + (isError ? " rtr-sizing-error" : "");
    lines.forEach(function (line) { box.appendChild(el("p", {}, line)); });
  }

  function renderTable(root, r, task) {
    var body = root.querySelector('[data-role="table"] tbody');
    body.textContent = "";
    var K = r.kept_features.length;
    for (var k = 0; k < K; k++) {
      var share = r.task_variance[k] > 0 ? r.task_loss[k] / r.task_variance[k] : 0;
      var tr = el("tr", k === task ? { "class": "rtr-sizing-chosen" } : {});
      tr.appendChild(el("th", { scope: "row", "data-field": "task" },
                        String(k + 1) + (k === task ? " (chosen)" : "")));
      var cells = [["frequency", fmt(r.frequencies[k])], ["features", String(r.n_features[k])],
                   ["kept", String(r.kept_features[k])], ["loss", fmt(r.task_loss[k])],
                   ["share", fmt(share)], ["critical", String(r.critical_width[k])]];
      cells.forEach(function (c) { tr.appendChild(el("td", { "data-field": c[0] }, c[1])); });
      body.appendChild(tr);
    }
  }

  function summary(r, task) {
    var K = r.kept_features.length, F = 0, kept = 0, held = 0;
    for (var k = 0; k < K; k++) {
      F += r.n_features[k]; kept += r.kept_features[k]; held += r.kept_features[k] > 0 ? 1 : 0;
    }
    var share = r.task_variance[task] > 0 ? r.task_loss[task] / r.task_variance[task] : 0;
    return "Width N = " + r.width + " keeps " + kept + " of " + F + " features; " + held +
      " of " + K + " tasks keep at least one. Task " + (task + 1) + " keeps " +
      r.kept_features[task] + " of its " + r.n_features[task] + " features, its loss is " +
      fmt(r.task_loss[task]) + " (" + fmt(100 * share) + "% of its variance), and its " +
      "critical width is N_c = " + r.critical_width[task] + ".";
  }

  function renderFigure(root, data) {
    var r = data.result, task = data.task, svg = root.querySelector('[data-role="figure"]');
    var W = 640, H = 300, L = 56, R = 16, T = 16, B = 44;
    var F = r.n_features.reduce(function (a, b) { return a + b; }, 0);
    var focus = Math.max(r.width, r.critical_width[task]);
    var xmax = Math.max(focus + 1, Math.min(F, 2 * focus));
    var steps = S.lossSteps(data.freqs, data.spectra, xmax);
    var x = function (v) { return L + (W - L - R) * v / xmax; };
    var y = function (v) { return T + (H - T - B) * (1 - v); };
    var keep = [svg.querySelector("title"), svg.querySelector("desc")];
    svg.textContent = "";
    keep.forEach(function (n) { if (n) { svg.appendChild(n); } });
    svg.appendChild(svgEl("rect", { x: 0, y: 0, width: W, height: H, fill: "#ffffff" }));
    var axes = svgEl("g", { stroke: "#222222", "stroke-width": 1 });
    axes.appendChild(svgEl("line", { x1: L, y1: y(0), x2: W - R, y2: y(0) }));
    axes.appendChild(svgEl("line", { x1: L, y1: y(0), x2: L, y2: T }));
    svg.appendChild(axes);
    var text = svgEl("g", { fill: "#222222", "font-size": 12, "font-family": "sans-serif" });
    [0, 0.5, 1].forEach(function (v) {
      text.appendChild(svgEl("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)));
    });
    var tick = Math.max(1, Math.pow(10, Math.floor(Math.log10(Math.max(1, xmax / 2)))));
    for (var t = 0; t <= xmax; t += tick) {
      text.appendChild(svgEl("text", { x: x(t), y: y(0) + 16, "text-anchor": "middle" },
                             String(t)));
    }
    text.appendChild(svgEl("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle" },
                           "width N"));
    text.appendChild(svgEl("text", { x: 14, y: (T + H - B) / 2, "text-anchor": "middle",
                                     transform: "rotate(-90 14 " + (T + H - B) / 2 + ")" },
                           "loss / variance"));
    svg.appendChild(text);
    var order = [task];
    for (var k = 0; k < steps.length && order.length < MAX_DRAWN; k++) {
      if (k !== task) { order.push(k); }
    }
    order.reverse().forEach(function (kk) {
      var v = r.task_variance[kk] > 0 ? r.task_variance[kk] : 1;
      var pts = steps[kk].map(function (p) { return x(p[0]) + "," + y(p[1] / v); }).join(" ");
      svg.appendChild(svgEl("polyline", {
        points: pts, fill: "none", stroke: kk === task ? "#0072B2" : "#8c8c8c",
        "stroke-width": kk === task ? 3 : 1, "data-task": kk + 1 }));
    });
    var marks = [[r.width, "N = " + r.width, "#222222", "6 4"],
                 [r.critical_width[task], "N_c = " + r.critical_width[task], "#A63D00", "2 3"]];
    marks.forEach(function (m, i) {
      if (m[0] > xmax) { return; }
      svg.appendChild(svgEl("line", { x1: x(m[0]), y1: y(0), x2: x(m[0]), y2: T,
                                      stroke: m[2], "stroke-dasharray": m[3] }));
      svg.appendChild(svgEl("text", { x: x(m[0]) + 4, y: T + 12 + 14 * i, fill: m[2],
                                      "font-size": 12, "font-family": "sans-serif" }, m[1]));
    });
    svg.querySelector("desc").textContent = "Step curves of each task's optimal loss as a " +
      "share of its variance, against width N from 0 to " + xmax + ". The chosen task " +
      (task + 1) + " is the thick blue curve; its critical width is " +
      r.critical_width[task] + ". A dashed line marks N = " + r.width + "." +
      (steps.length > MAX_DRAWN ? " Only " + MAX_DRAWN + " of " + steps.length +
       " tasks are drawn." : "");
  }

  function clearInvalid(root) {
    var bad = root.querySelectorAll('[aria-invalid="true"]');
    for (var i = 0; i < bad.length; i++) { bad[i].removeAttribute("aria-invalid"); }
  }

  function update(root) {
    clearInvalid(root);
    var out = root.querySelector('[data-role="output"]');
    try {
      var data = read(root), r = data.result, notes = [];
      if (r.normalised) {
        notes.push("Note: the frequencies summed to " + fmt(r.input_sum) + ", not 1; each " +
                   "was divided by that sum (normalised).");
      }
      if (r.tie_at_cut) {
        notes.push("Note: utilities are tied at the cut of width " + r.width + ": which of " +
                   "the tied features the model keeps is arbitrary (the mixture loss is the " +
                   "same); the table shows the stable tie-break (by task, then feature).");
      }
      var t = data.task;
      if (r.first_kept_width[t] < r.critical_width[t]) {
        notes.push("Note: task " + (t + 1) + "'s best utility is tied with other tasks' " +
                   "features: the stable tie-break keeps it from width " +
                   r.first_kept_width[t] + ", but every optimal encoder only from its " +
                   "critical width N_c = " + r.critical_width[t] + ".");
      }
      say(root, notes, false);
      out.hidden = false;
      root.querySelector('[data-role="summary"]').textContent = summary(r, data.task);
      renderTable(root, r, data.task);
      renderFigure(root, data);
    } catch (err) {
      if (!(err instanceof S.SizingError)) { throw err; }
      var input = root.querySelector('[data-role="' + (FIELD_ROLE[err.field] || "") + '"]');
      if (input) { input.setAttribute("aria-invalid", "true"); }
      say(root, ["Error: " + err.message + " Nothing was computed."], true);
      out.hidden = true;
    }
  }

  function showModes(root) {
    var groups = root.querySelectorAll("[data-mode-group]");
    for (var i = 0; i < groups.length; i++) {
      var g = groups[i], want = mode(root, g.getAttribute("data-mode-group"));
      g.hidden = g.getAttribute("data-mode") !== want;
    }
  }

  function mount(root) {
    if (root.getAttribute("data-rtr-mounted") === "1") { return; }
    root.setAttribute("data-rtr-mounted", "1");
    var form = root.querySelector("form"), timer = null;
    var noscript = root.querySelector('[data-role="needs-js"]');
    if (noscript) { noscript.hidden = true; }
    form.hidden = false;
    form.addEventListener("submit", function (e) { e.preventDefault(); update(root); });
    form.addEventListener("input", function () {
      showModes(root);
      if (timer) { global.clearTimeout(timer); }
      timer = global.setTimeout(function () { update(root); }, 150);
    });
    form.addEventListener("change", function () { showModes(root); });
    showModes(root);
    update(root);
  }

  function mountAll() {
    var roots = global.document.querySelectorAll("[data-rtr-sizing]");
    for (var i = 0; i < roots.length; i++) { mount(roots[i]); }
  }

  global.RTRSizingUI = { mount: mount, mountAll: mountAll, update: update };
  if (global.document.readyState === "loading") {
    global.document.addEventListener("DOMContentLoaded", mountAll);
  } else {
    mountAll();
  }
})(typeof window !== "undefined" ? window : this);
