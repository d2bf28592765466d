// The evaluator grid: keyboard navigation over cells (roving tabindex), judging through the JSON
// API, bulk row/column actions (confirmed first, undoable for a while), a dialog for comment,
// evidence and history, and a confirmation step for rule changes and revocations.
// A cell's current comment and evidence ride on its button (data-comment, data-evidence).
// Dates read as on the server's pages (lms_plugin/assessment/wording.py): the page's locale, in UTC.
(function () {
  "use strict";
  var meta = function (name) { return document.querySelector('meta[name="' + name + '"]').content; };
  var launchId = meta("launch-id");
  var csrf = meta("csrf-token");
  var table = document.querySelector("table.grid");
  if (!table) { return; }
  var status = document.getElementById("grid-status");
  var dialog = document.getElementById("cell-dialog");
  var confirmDialog = document.getElementById("confirm-dialog");
  var feedback = document.getElementById("grid-feedback");
  var undoButton = document.getElementById("grid-undo");
  var LABELS = { met: "✓ Met", not_yet: "✗ Not yet" };
  var UNDO_SECONDS = 30;
  var AFTER_RELOAD = "grid-after-reload:" + launchId;
  var current = null;
  var undoOffer = null;
  var WHEN = dateFormat(meta("date-locale"));

  function dateFormat(locale) {
    var options = {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit",
      hourCycle: "h23", timeZone: "UTC", timeZoneName: "short"
    };
    try { return new Intl.DateTimeFormat(locale, options); } catch (ignored) { return new Intl.DateTimeFormat("en-GB", options); }
  }

  function api(method, path, body) {
    var options = {
      method: method,
      credentials: "same-origin",
      headers: { "X-LTI-Launch-Id": launchId, "X-CSRFToken": csrf, "Accept": "application/json" }
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) { throw new Error(data.message || ("The server answered " + response.status)); }
        return data;
      });
    });
  }

  // The status shows at the foot of the window, and goes after a while (Undo's own time).
  var sayTimer = null;
  function say(text) {
    status.textContent = text;
    feedback.classList.toggle("shown", text !== "" || !undoButton.hidden);
    clearTimeout(sayTimer);
    if (text !== "") { sayTimer = setTimeout(function () { say(""); }, UNDO_SECONDS * 1000); }
  }
  function plural(count, one, many) { return count + " " + (count === 1 ? one : many); }
  function cells() { return Array.prototype.slice.call(table.querySelectorAll("tbody tr:not([hidden]) button.cell")); }
  function learnerName(id) { return document.getElementById("l-" + id).textContent; }
  function learnerOf(cell) { return cell.closest("tr").dataset.learner; }
  var levelOfStatement = {};
  table.querySelectorAll("th.statement-head").forEach(function (th) {
    levelOfStatement[th.id.slice(2)] = th.dataset.level;
  });

  function focusCell(cell) {
    if (!cell) { return; }
    if (current) { current.tabIndex = -1; }
    current = cell;
    cell.tabIndex = 0;
    cell.focus();
  }

  function cellAt(learnerId, statementId) {
    return table.querySelector('tr[data-learner="' + learnerId + '"] button.cell[data-statement="' + statementId + '"]');
  }

  // What an undo restores: the cell's verdict, comment and evidence as they are now.
  function stateOf(cell) {
    return {
      cell: cell, verdict: cell.dataset.verdict || "clear",
      comment: cell.dataset.comment || "", evidence_url: cell.dataset.evidence || ""
    };
  }

  function setNote(cell, name, value) {
    if (value) { cell.dataset[name] = value; } else { delete cell.dataset[name]; }
  }

  function paint(cell, verdict, comment, evidence) {
    setNote(cell, "comment", verdict === "clear" ? "" : comment);
    setNote(cell, "evidence", verdict === "clear" ? "" : evidence);
    cell.dataset.verdict = verdict === "clear" ? "" : verdict;
    cell.className = "cell " + cell.dataset.verdict;
    if (LABELS[verdict]) {
      cell.textContent = LABELS[verdict];
    } else {
      cell.innerHTML = '<span aria-hidden="true">·</span><span class="visually-hidden">Not judged</span>';
    }
  }

  function showLevels(result) {
    var messages = [];
    result.achieved.forEach(function (change) {
      var badges = table.querySelector('tr[data-learner="' + change.learner_id + '"] [data-achieved]');
      if (!badges.querySelector('[data-level="' + change.level + '"]')) {
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.dataset.level = change.level;
        badge.textContent = "✓ " + levelLabel(change.level);
        badges.appendChild(badge);
      }
      messages.push(learnerName(change.learner_id) + " achieved " + levelLabel(change.level) + ".");
    });
    result.withdrawn.forEach(function (change) {
      var badge = table.querySelector('tr[data-learner="' + change.learner_id + '"] [data-achieved] [data-level="' + change.level + '"]');
      if (badge) { badge.remove(); }
      messages.push(learnerName(change.learner_id) + " no longer has " + levelLabel(change.level) + ".");
    });
    return messages;
  }

  function levelLabel(key) {
    var button = table.querySelector('button.bulk.row[data-level="' + key + '"]');
    return button ? button.textContent.split(":")[0] : key;
  }

  // Sends items ({learner_id, statement_id, verdict[, comment, evidence_url]}: comment and
  // evidence left out keep the cell's own for the same verdict) and paints what was recorded.
  // Resolves with the answer and the level messages; the caller says what happened.
  function send(items) {
    say("Saving…");
    return api("POST", "/api/v1/judgements", { judgements: items }).then(function (result) {
      result.judgements.forEach(function (j) {
        var cell = cellAt(j.learner_id, j.statement_id);
        if (cell) { paint(cell, j.verdict, j.comment, j.evidence_url); }
      });
      result.messages = showLevels(result);
      return result;
    }).catch(function (error) { say("Not saved: " + error.message); throw error; });
  }

  function itemFor(cell, verdict) {
    return { learner_id: Number(learnerOf(cell)), statement_id: Number(cell.dataset.statement), verdict: verdict };
  }

  function withLevels(text, result) {
    return text + (result.messages.length ? " " + result.messages.join(" ") : "");
  }

  // One cell, from the keyboard or the dialog (extra: the dialog's comment and evidence).
  function judge(cell, verdict, extra) {
    var item = itemFor(cell, verdict);
    if (extra) { item.comment = extra.comment; item.evidence_url = extra.evidence_url; }
    if (undoOffer && undoOffer.before.some(function (b) { return b.cell === cell; })) { withdrawUndo(); }
    return send([item]).then(function (result) {
      say(withLevels(result.judgements.length ? "Saved." : "Nothing to save: that is what is recorded.", result));
      return result;
    });
  }

  // Only http(s) evidence becomes a link (never javascript: or data:); other text stays text.
  function webAddress(text) {
    try {
      var url = new URL(text);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (ignored) { return null; }
  }

  function evidenceLink(address) {
    var link = document.createElement("a");
    link.href = address;
    link.target = "_blank";
    link.rel = "noopener noreferrer nofollow";
    link.textContent = address;
    var hint = document.createElement("span");
    hint.className = "visually-hidden";
    hint.textContent = " (opens in a new tab)";
    link.appendChild(hint);
    return link;
  }

  function historyItem(entry) {
    var li = document.createElement("li");
    var time = document.createElement("time");
    time.dateTime = entry.judged_at;
    time.textContent = WHEN.format(new Date(entry.judged_at));
    li.append((LABELS[entry.verdict] || "Cleared") + " — " + entry.judged_by + ", ", time,
      entry.comment ? ": " + entry.comment : "");
    if (entry.evidence_url) {
      var address = webAddress(entry.evidence_url);
      li.append(" (evidence: ", address ? evidenceLink(address) : entry.evidence_url, ")");
    }
    return li;
  }

  function statementText(statementId) {
    return document.getElementById("s-" + statementId).dataset.text;
  }

  // Another evaluator may have judged the cell since the page loaded: its newest judgement (from
  // the history) is shown in the cell, and in the dialog unless something was typed already.
  function catchUp(cell, form, latest) {
    var now = latest && latest.verdict !== "clear" ? latest : { verdict: "clear", comment: null, evidence_url: null };
    var was = stateOf(cell);
    if (now.verdict === was.verdict && (now.comment || "") === was.comment && (now.evidence_url || "") === was.evidence_url) { return; }
    var untouched = form.querySelector('input[name="verdict"]:checked').value === was.verdict &&
      form.comment.value === was.comment && form.evidence_url.value === was.evidence_url;
    paint(cell, now.verdict, now.comment, now.evidence_url);
    if (dialog.open && untouched) {
      form.querySelector('input[name="verdict"][value="' + now.verdict + '"]').checked = true;
      form.comment.value = now.comment || "";
      form.evidence_url.value = now.evidence_url || "";
    }
    say("This cell was judged again since the page was loaded" + (latest ? " (by " + latest.judged_by + ")" : "") + ": it now shows what is recorded.");
  }

  function openDialog(cell) {
    var form = document.getElementById("cell-form");
    form.reset();
    document.getElementById("cell-error").textContent = "";
    document.getElementById("cell-dialog-about").textContent = learnerName(learnerOf(cell)) + " — " + statementText(cell.dataset.statement);
    var checked = form.querySelector('input[name="verdict"][value="' + (cell.dataset.verdict || "clear") + '"]');
    checked.checked = true;
    form.comment.value = cell.dataset.comment || "";
    form.evidence_url.value = cell.dataset.evidence || "";
    var list = document.getElementById("cell-history");
    list.innerHTML = "<li>Loading…</li>";
    api("GET", "/api/v1/judgements?learner_id=" + learnerOf(cell) + "&statement_id=" + cell.dataset.statement)
      .then(function (data) {
        list.innerHTML = "";
        if (!data.judgements.length) { list.innerHTML = "<li>Never judged.</li>"; }
        data.judgements.forEach(function (entry) { list.appendChild(historyItem(entry)); });
        catchUp(cell, form, data.judgements[0]);
      }).catch(function (error) { list.innerHTML = ""; list.appendChild(document.createTextNode(error.message)); });
    dialog.returnValue = "";
    dialog.showModal();
    checked.focus(); // the current verdict: Space there changes nothing
    form.onsubmit = function (event) {
      if (event.submitter && event.submitter.value === "cancel") { return; }
      event.preventDefault();
      var verdict = form.querySelector('input[name="verdict"]:checked').value;
      // Both fields always sent: what the dialog shows is what is recorded ("" for none).
      judge(cell, verdict, { comment: form.comment.value.trim(), evidence_url: form.evidence_url.value.trim() })
        .then(function () { dialog.close(); focusCell(cell); })
        .catch(function (error) { document.getElementById("cell-error").textContent = error.message; });
    };
    dialog.onclose = function () { focusCell(cell); };
  }

  function move(cell, dx, dy) {
    var row = cell.closest("tr");
    var rowCells = Array.prototype.slice.call(row.querySelectorAll("button.cell"));
    var x = rowCells.indexOf(cell);
    if (dy === 0) { return rowCells[Math.max(0, Math.min(rowCells.length - 1, x + dx))]; }
    var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr:not([hidden])"));
    var y = rows.indexOf(row) + dy;
    if (y < 0 || y >= rows.length) { return cell; }
    return rows[y].querySelectorAll("button.cell")[x];
  }

  table.addEventListener("keydown", function (event) {
    var cell = event.target.closest("button.cell");
    if (!cell) { return; }
    var key = event.key;
    var row = Array.prototype.slice.call(cell.closest("tr").querySelectorAll("button.cell"));
    var target = null;
    if (key === "ArrowRight") { target = move(cell, 1, 0); }
    else if (key === "ArrowLeft") { target = move(cell, -1, 0); }
    else if (key === "ArrowDown") { target = move(cell, 0, 1); }
    else if (key === "ArrowUp") { target = move(cell, 0, -1); }
    else if (key === "Home") { target = row[0]; }
    else if (key === "End") { target = row[row.length - 1]; }
    else if (key === "m" || key === "M") { judge(cell, "met").catch(function () {}); }
    else if (key === "n" || key === "N") { judge(cell, "not_yet").catch(function () {}); }
    else if (key === "c" || key === "C" || key === "Delete" || key === "Backspace") { judge(cell, "clear").catch(function () {}); }
    else if (key === "Enter" || key === " ") { openDialog(cell); }
    else { return; }
    event.preventDefault();
    if (target) { focusCell(target); }
  });

  table.addEventListener("click", function (event) {
    var cell = event.target.closest("button.cell");
    if (cell) { focusCell(cell); openDialog(cell); return; }
    var bulk = event.target.closest("button.bulk");
    if (bulk) { bulkMet(bulk); }
  });

  // --- bulk actions: say what will change, change only that, offer to undo it ----------------

  function names(targets) {
    var seen = [];
    targets.forEach(function (c) {
      var name = learnerName(learnerOf(c));
      if (seen.indexOf(name) === -1) { seen.push(name); }
    });
    return seen;
  }

  function bulkMet(bulk) {
    var targets, change, question, already;
    var level = bulk.dataset.level;
    if (bulk.classList.contains("row")) {
      var learner = learnerName(bulk.closest("tr").dataset.learner);
      targets = Array.prototype.slice.call(bulk.closest("tr").querySelectorAll("button.cell")).filter(function (c) {
        return levelOfStatement[c.dataset.statement] === level;
      });
      change = targets.filter(function (c) { return c.dataset.verdict !== "met"; });
      question = "Mark " + change.length + " of " + plural(targets.length, levelLabel(level) + " statement", levelLabel(level) + " statements") + " met for " + learner + "?";
      already = "All " + plural(targets.length, levelLabel(level) + " statement", levelLabel(level) + " statements") + " are already met for " + learner + ": nothing to change.";
    } else {
      var head = document.getElementById("s-" + bulk.dataset.statement);
      var number = head.querySelector(".statement-text").textContent.split(".")[0];
      var filtered = filtering();
      level = head.dataset.level;
      targets = cells().filter(function (c) { return c.dataset.statement === bulk.dataset.statement; });
      change = targets.filter(function (c) { return c.dataset.verdict !== "met"; });
      question = "Mark " + levelLabel(level) + " statement " + number + " met for " + change.length + " of " + plural(targets.length, "learner", "learners") + (filtered ? " shown" : "") + "?";
      already = levelLabel(level) + " statement " + number + " is already met for every learner" + (filtered ? " shown" : "") + ": nothing to change.";
    }
    if (!change.length) { say(already); return; }
    var kept = targets.length - change.length;
    var people = names(change);
    var detail = (bulk.classList.contains("column") ? "“" + statementText(bulk.dataset.statement) + "”. " : "") +
      (people.length <= 10 && bulk.classList.contains("column") ? "For " + people.join(", ") + ". " : "") +
      (kept ? plural(kept, "cell is", "cells are") + " already met and stay as they are, with their comments and evidence. " : "") +
      "You can undo this for " + UNDO_SECONDS + " seconds afterwards.";
    confirmStep(question, detail, "Mark " + change.length + " met", false).then(function (yes) {
      if (!yes) { say("Nothing changed."); return; }
      var before = change.map(stateOf);
      withdrawUndo();
      send(change.map(function (c) { return itemFor(c, "met"); })).then(function (result) {
        var recorded = result.judgements.length;
        var unchanged = kept + result.unchanged.length;
        say(withLevels("Saved " + plural(recorded, "judgement", "judgements") + (unchanged ? "; " + unchanged + " " + (unchanged === 1 ? "was" : "were") + " already met." : "."), result));
        var changed = {};
        result.judgements.forEach(function (j) { changed[j.learner_id + ":" + j.statement_id] = true; });
        offerUndo(before.filter(function (b) { return changed[learnerOf(b.cell) + ":" + b.cell.dataset.statement]; }));
      }).catch(function () {});
    });
  }

  // Undo: reversal judgements restoring each changed cell's verdict, comment and evidence as they
  // were before the bulk action (a cell not judged then is cleared). Withdrawn when one of those
  // cells is judged again, so that it never overwrites a later decision, and by the next bulk
  // action (one undo at a time).
  function offerUndo(before) {
    if (!before.length) { return; }
    undoButton.textContent = "Undo (" + plural(before.length, "judgement", "judgements") + ")";
    undoButton.hidden = false;
    feedback.classList.add("shown");
    var offer = { before: before, timer: setTimeout(function () { withdrawUndo(); }, UNDO_SECONDS * 1000) };
    undoOffer = offer;
  }

  function withdrawUndo() {
    if (!undoOffer) { return; }
    clearTimeout(undoOffer.timer);
    undoOffer = null;
    if (document.activeElement === undoButton && current) { current.focus(); }
    undoButton.hidden = true;
    feedback.classList.toggle("shown", status.textContent !== "");
  }

  undoButton.addEventListener("click", function () {
    if (!undoOffer) { return; }
    var before = undoOffer.before;
    withdrawUndo();
    send(before.map(function (b) {
      var item = itemFor(b.cell, b.verdict);
      item.comment = b.comment;
      item.evidence_url = b.evidence_url;
      return item;
    })).then(function (result) {
      say(withLevels("Undone: " + plural(before.length, "cell is", "cells are") + " back to what " + (before.length === 1 ? "it was" : "they were") + " (" + plural(result.judgements.length, "judgement", "judgements") + " recorded; the history keeps both).", result));
    }).catch(function () {});
  });

  // --- the confirmation step --------------------------------------------------------------------

  // Resolves true when confirmed. safeFirst: focus starts on Cancel (for what cannot be undone).
  function confirmStep(question, detail, yes, safeFirst) {
    document.getElementById("confirm-question").textContent = question;
    document.getElementById("confirm-detail").textContent = detail;
    var yesButton = document.getElementById("confirm-yes");
    yesButton.textContent = yes;
    confirmDialog.returnValue = "";
    say("");
    confirmDialog.showModal();
    (safeFirst ? confirmDialog.querySelector('button[value="cancel"]') : yesButton).focus();
    return new Promise(function (resolve) {
      confirmDialog.addEventListener("close", function () { resolve(confirmDialog.returnValue === "confirm"); }, { once: true });
    });
  }

  // Rule changes and revocations are forms that reload the page: confirmed first, and their
  // result said on the page that follows (checked there, from what it shows).
  function remember(value) {
    try { sessionStorage.setItem(AFTER_RELOAD, JSON.stringify(value)); } catch (ignored) { /* no storage: no message */ }
  }

  function achievedNow() {
    var held = {};
    table.querySelectorAll("tbody tr").forEach(function (tr) {
      held[tr.dataset.learner] = Array.prototype.map.call(tr.querySelectorAll("[data-achieved] .badge"), function (b) { return b.dataset.level; });
    });
    return held;
  }

  function confirmForm(form, question, detail, yes, safeFirst, after) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.confirmed) { return; }
      event.preventDefault();
      confirmStep(question(), detail(), yes, safeFirst).then(function (confirmed) {
        if (!confirmed) { say("Nothing changed."); return; }
        remember(after());
        form.dataset.confirmed = "yes";
        form.submit();
      });
    });
  }

  var ruleForm = document.getElementById("rule-form");
  var learnerCount = table.querySelectorAll("tbody tr").length;
  function ruleText() {
    var threshold = ruleForm.threshold_percent.value;
    return (threshold === "100" ? "every statement of a level met" : threshold + "% of a level's statements met") +
      (ruleForm.require_lower_levels.checked ? ", lower levels first" : "");
  }
  confirmForm(ruleForm,
    function () { return "Apply “" + ruleText() + "” to all " + plural(learnerCount, "learner", "learners") + "?"; },
    function () { return "Every learner's levels are recomputed under this rule: some may gain a level, others lose one (and its credential is then revoked). To go back, apply the earlier rule again."; },
    "Apply to every learner", false,
    function () {
      return { kind: "rule", threshold: ruleForm.threshold_percent.value, lower: ruleForm.require_lower_levels.checked, rule: ruleText(), held: achievedNow() };
    });

  document.querySelectorAll("form.revoke").forEach(function (form) {
    var what = form.dataset.level + " of " + form.dataset.learner;
    confirmForm(form,
      function () { return "Revoke " + what + "?"; },
      function () { return "Employers who check it will see it is revoked, with your reason: “" + form.reason.value.trim() + "”. This cannot be undone."; },
      "Revoke", true,
      function () { return { kind: "revoke", credential: form.closest("tr").dataset.credential, what: what }; });
  });

  function sayAfterReload() {
    var done = null;
    try {
      done = JSON.parse(sessionStorage.getItem(AFTER_RELOAD) || "null");
      sessionStorage.removeItem(AFTER_RELOAD);
    } catch (ignored) { return; }
    if (!done) { return; }
    if (done.kind === "revoke") {
      var row = document.querySelector('tr[data-credential="' + done.credential + '"]');
      if (row && row.hasAttribute("data-revoked")) { say("Revoked " + done.what + "."); }
    } else if (done.kind === "rule" && ruleForm.threshold_percent.value === done.threshold && ruleForm.require_lower_levels.checked === done.lower) {
      var held = achievedNow(), gained = 0, lost = 0;
      Object.keys(held).forEach(function (id) {
        var was = done.held[id] || [];
        if (held[id].some(function (k) { return was.indexOf(k) === -1; })) { gained += 1; }
        if (was.some(function (k) { return held[id].indexOf(k) === -1; })) { lost += 1; }
      });
      say("Rule applied to every learner: a level is achieved with " + done.rule + ". " +
        (gained || lost ? plural(gained, "learner", "learners") + " gained a level, " + lost + " lost one." : "No learner's levels changed."));
    }
  }

  table.addEventListener("focusin", function (event) {
    var cell = event.target.closest("button.cell");
    if (cell && cell !== current) { if (current) { current.tabIndex = -1; } current = cell; cell.tabIndex = 0; }
  });

  // --- the filter: by name (ignoring case and accents) and by what is left to do --------------

  // Letters that Unicode does not decompose into a base letter and a mark.
  var FOLDS = { "ø": "o", "æ": "ae", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "œ": "oe", "þ": "th", "ı": "i" };
  function fold(text) {
    return text.toLowerCase().normalize("NFKD").replace(/\p{M}/gu, "")
      .replace(/[øæßłđðœþı]/g, function (letter) { return FOLDS[letter]; })
      .replace(/\s+/g, " ").trim();
  }

  var filter = document.getElementById("learner-filter");
  var stateFilter = document.getElementById("learner-state");
  var levelCount = table.querySelectorAll("th.level-head").length;
  var folded = new Map();
  table.querySelectorAll("tbody tr").forEach(function (tr) {
    folded.set(tr, fold(learnerName(tr.dataset.learner)));
  });
  var STATES = {
    "": function () { return true; },
    unjudged: function (tr) { return tr.querySelector('button.cell[data-verdict=""]') !== null; },
    "missing-level": function (tr) { return tr.querySelectorAll("[data-achieved] .badge").length < levelCount; }
  };
  function filtering() { return fold(filter.value) !== "" || stateFilter.value !== ""; }

  function applyFilter() {
    var words = fold(filter.value).split(" ").filter(Boolean);
    var state = STATES[stateFilter.value] || STATES[""];
    var rows = table.querySelectorAll("tbody tr");
    rows.forEach(function (tr) {
      var name = folded.get(tr);
      tr.hidden = !(words.every(function (word) { return name.indexOf(word) !== -1; }) && state(tr));
    });
    var shown = table.querySelectorAll("tbody tr:not([hidden])").length;
    if (current && current.closest("tr").hidden) {
      var next = cells()[0];
      if (next) { current.tabIndex = -1; current = next; next.tabIndex = 0; }
    }
    say(filtering() ? shown + " of " + plural(rows.length, "learner", "learners") + " shown." : "Every learner shown.");
  }
  filter.addEventListener("input", applyFilter);
  stateFilter.addEventListener("change", applyFilter);

  // CSV downloads go through fetch with the launch's headers (a cookieless launch has no cookie
  // for a plain link to carry), then are saved from a blob.
  document.querySelectorAll("a[data-download]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      say("Preparing " + link.dataset.download + "…");
      fetch(link.pathname, {
        credentials: "same-origin",
        headers: { "X-LTI-Launch-Id": launchId, "X-CSRFToken": csrf, "Accept": "text/csv" }
      }).then(function (response) {
        if (!response.ok) { throw new Error("The server answered " + response.status); }
        return response.blob();
      }).then(function (blob) {
        var url = URL.createObjectURL(blob);
        var save = document.createElement("a");
        save.href = url;
        save.download = link.dataset.download;
        document.body.appendChild(save);
        save.click();
        save.remove();
        setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
        say("Downloaded " + link.dataset.download + ".");
      }).catch(function (error) { say("Not downloaded: " + error.message); });
    });
  });

  var first = table.querySelector("tbody button.cell");
  if (first) { first.tabIndex = 0; current = first; }
  sayAfterReload();
})();
