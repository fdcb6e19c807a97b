/* rtr-book sizing calculator: Theorem 3 and Proposition 6 for a reader's own mixture.
 *
 * Plain JavaScript, no dependencies, shipped inside the chapter page (rtrlib/sizing/
 * calculator.py inlines this file). RTRSizing.compute repeats rtrlib.sizing operation by
 * operation: frequencies summed left to right and divided by the sum when it is not 1 (within
 * 1e-9); utilities u = pi_k * lambda_kj; features ranked by decreasing utility, ties broken by
 * task then feature index (a stable sort, as numpy's argsort(kind="stable")); the N first kept;
 * a task's loss is the sum, in feature order, of the lambdas it loses; its critical width is one
 * more than the number of other tasks' features whose utility reaches its best (Proposition 6,
 * ties counted against the task). Given the same lists, the results are bit for bit Python's.
 * The page controls are in calculator_ui.js.
 */
(function (global) {
  "use strict";
  if (global.RTRSizing) { return; }

  var SUM_TOLERANCE = 1e-9, TIE_RTOL = 1e-9, MAX_FEATURES = 100000, MAX_WIDTH = 1000000;
  var NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

  function SizingError(field, message) {
    this.field = field; this.message = message;
  }

  function fail(field, message) { throw new SizingError(field, message); }

  /* ---- checking the input ------------------------------------------------------------- */
  function checkList(name, label, values) {
    if (!Array.isArray(values) || values.length === 0) {
      fail(name, label + " is empty: give at least one number.");
    }
    for (var i = 0; i < values.length; i++) {
      var v = values[i];
      if (typeof v !== "number" || !isFinite(v)) {
        fail(name, label + ": entry " + (i + 1) + " is not a finite number.");
      }
      if (v < 0) {
        fail(name, label + ": entry " + (i + 1) + " is negative (" + v +
             "); values must be zero or more.");
      }
    }
    return values.slice();
  }

  function checkFrequencies(values) {
    var pi = checkList("frequencies", "Frequencies", values), total = 0, i;
    for (i = 0; i < pi.length; i++) { total += pi[i]; }
    if (!(total > 0)) { fail("frequencies", "Frequencies sum to 0: at least one must be positive."); }
    if (Math.abs(total - 1) <= SUM_TOLERANCE) {
      return { pi: pi, normalised: false, inputSum: total };
    }
    for (i = 0; i < pi.length; i++) { pi[i] = pi[i] / total; }
    return { pi: pi, normalised: true, inputSum: total };
  }

  function checkSpectra(values, nTasks) {
    if (!Array.isArray(values) || values.length === 0) {
      fail("spectra", "Spectra are empty: give one spectrum per task.");
    }
    if (values.length !== nTasks) {
      fail("spectra", "There are " + values.length + " spectra for " + nTasks +
           " frequencies: give exactly one spectrum per task.");
    }
    var out = [], total = 0;
    for (var k = 0; k < values.length; k++) {
      out.push(checkList("spectra", "Spectrum of task " + (k + 1), values[k]));
      total += values[k].length;
    }
    if (total > MAX_FEATURES) { fail("spectra", "At most " + MAX_FEATURES + " features in all."); }
    return out;
  }

  function checkWidth(width) {
    if (typeof width !== "number" || !isFinite(width) || Math.floor(width) !== width ||
        width < 1 || width > MAX_WIDTH) {
      fail("width", "Width N must be a whole number from 1 to " + MAX_WIDTH + ".");
    }
    return width;
  }

  function checkInteger(name, label, value, lo, hi) {
    if (typeof value !== "number" || !isFinite(value) || Math.floor(value) !== value ||
        value < lo || value > hi) {
      fail(name, label + " must be a whole number from " + lo + " to " + hi + ".");
    }
    return value;
  }

  function checkExponent(name, label, value, hi) {
    if (typeof value !== "number" || !isFinite(value) || value < 0 || value > hi) {
      fail(name, label + " must be a number from 0 to " + hi + ".");
    }
    return value;
  }

  /* ---- generated forms (pow may differ from C's in the last bit) ------------------------ */
  function zipfFrequencies(nTasks, exponent) {
    checkInteger("n_tasks", "Number of tasks K", nTasks, 1, MAX_FEATURES);
    checkExponent("zipf_exponent", "Zipf exponent a", exponent, 20);
    var w = [], total = 0, k;
    for (k = 1; k <= nTasks; k++) { w.push(Math.pow(k, -exponent)); }
    for (k = 0; k < w.length; k++) { total += w[k]; }
    return w.map(function (x) { return x / total; });
  }

  function powerLawSpectra(nTasks, featuresPerTask, decay) {
    checkInteger("features_per_task", "Features per task m", featuresPerTask, 1, MAX_FEATURES);
    checkExponent("decay", "Decay exponent b", decay, 50);
    if (nTasks * featuresPerTask > MAX_FEATURES) {
      fail("features_per_task", "At most " + MAX_FEATURES + " features in all.");
    }
    var s = [], out = [], j, k;
    for (j = 1; j <= featuresPerTask; j++) { s.push(Math.pow(j, -decay)); }
    for (k = 0; k < nTasks; k++) { out.push(s.slice()); }
    return out;
  }

  /* ---- the computation ----------------------------------------------------------------- */
  function flatten(pi, spectra) {
    var u = [], task = [], lam = [];
    for (var k = 0; k < spectra.length; k++) {
      for (var j = 0; j < spectra[k].length; j++) {
        u.push(pi[k] * spectra[k][j]); task.push(k); lam.push(spectra[k][j]);
      }
    }
    var order = u.map(function (_, i) { return i; });
    order.sort(function (a, b) {
      if (u[a] > u[b]) { return -1; }
      if (u[a] < u[b]) { return 1; }
      return a - b;
    });
    return { u: u, task: task, lam: lam, order: order };
  }

  function criticalWidth(f, r) {
    var best = -Infinity, i, above = 0;
    for (i = 0; i < f.u.length; i++) { if (f.task[i] === r && f.u[i] > best) { best = f.u[i]; } }
    for (i = 0; i < f.u.length; i++) { if (f.task[i] !== r && f.u[i] >= best) { above += 1; } }
    return above + 1;
  }

  function compute(frequencies, spectra, width) {
    var fr = checkFrequencies(frequencies);
    var sp = checkSpectra(spectra, fr.pi.length);
    checkWidth(width);
    var K = fr.pi.length, f = flatten(fr.pi, sp), F = f.u.length, i, k;
    var kept = new Array(F).fill(false);
    for (i = 0; i < Math.min(width, F); i++) { kept[f.order[i]] = true; }
    var nKept = new Array(K).fill(0), loss = new Array(K).fill(0), variance = [];
    for (i = 0; i < F; i++) {
      if (kept[i]) { nKept[f.task[i]] += 1; } else { loss[f.task[i]] += f.lam[i]; }
    }
    for (k = 0; k < K; k++) {
      var total = 0;
      for (var j = 0; j < sp[k].length; j++) { total += sp[k][j]; }
      variance.push(total);
    }
    var tie = false;
    if (width < F) {
      var hi = f.u[f.order[width - 1]], lo = f.u[f.order[width]];
      tie = hi > 0 && hi - lo <= TIE_RTOL * hi;
    }
    var crit = [], first = new Array(K).fill(0);
    for (k = 0; k < K; k++) { crit.push(criticalWidth(f, k)); }
    for (i = 0; i < F; i++) {
      if (first[f.task[f.order[i]]] === 0) { first[f.task[f.order[i]]] = i + 1; }
    }
    return { width: width, normalised: fr.normalised, input_sum: fr.inputSum,
             frequencies: fr.pi, n_features: sp.map(function (s) { return s.length; }),
             kept_features: nKept, task_loss: loss, task_variance: variance,
             critical_width: crit, first_kept_width: first, tie_at_cut: tie };
  }

  /* Per-task loss at every width 0..maxWidth, as step curves: [[w, loss], ...] per task. */
  function lossSteps(frequencies, spectra, maxWidth) {
    var fr = checkFrequencies(frequencies), sp = checkSpectra(spectra, fr.pi.length);
    var f = flatten(fr.pi, sp), K = sp.length, loss = [], pts = [], k, i;
    for (k = 0; k < K; k++) {
      var t = 0;
      for (i = 0; i < sp[k].length; i++) { t += sp[k][i]; }
      loss.push(t); pts.push([[0, t]]);
    }
    for (i = 0; i < Math.min(f.u.length, maxWidth); i++) {
      var g = f.order[i], kk = f.task[g];
      pts[kk].push([i + 1, loss[kk]]);
      loss[kk] = Math.max(0, loss[kk] - f.lam[g]);
      pts[kk].push([i + 1, loss[kk]]);
    }
    for (k = 0; k < K; k++) { pts[k].push([maxWidth, loss[k]]); }
    return pts;
  }

  /* ---- parsing text fields ------------------------------------------------------------- */
  function parseNumbers(text, name, label) {
    var parts = String(text).split(/[\s,]+/).filter(function (s) { return s.length > 0; });
    if (parts.length === 0) { fail(name, label + " is empty: give at least one number."); }
    return parts.map(function (s, i) {
      if (!NUMBER.test(s)) { fail(name, label + ": entry " + (i + 1) + " (" + s + ") is not a number."); }
      return Number(s);
    });
  }

  function parseSpectra(text) {
    var lines = String(text).split(/[\n;]+/).filter(function (s) { return s.trim().length > 0; });
    if (lines.length === 0) { fail("spectra", "Spectra are empty: give one line per task."); }
    return lines.map(function (line, k) {
      return parseNumbers(line, "spectra", "Spectrum of task " + (k + 1));
    });
  }

  global.RTRSizing = {
    SizingError: SizingError, compute: compute, lossSteps: lossSteps,
    zipfFrequencies: zipfFrequencies, powerLawSpectra: powerLawSpectra,
    parseNumbers: parseNumbers, parseSpectra: parseSpectra,
    SUM_TOLERANCE: SUM_TOLERANCE, TIE_RTOL: TIE_RTOL
  };
})(typeof window !== "undefined" ? window : this);
